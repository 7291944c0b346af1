import { useSearchParams } from 'react-router'
import { useTranslation } from 'react-i18next'
import { ArrowDownIcon, ArrowUpDownIcon, ArrowUpIcon, DownloadIcon } from 'lucide-react'
import { api } from '@/lib/api-client'
import { formatDateTime } from '@/lib/format'
import { useIsPhone } from '@/lib/use-media'
import { Button } from '@/components/ui/button'
import { Label } from '@/components/ui/label'
import { NativeSelect } from '@/components/ui/native-select'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { useAuditPage } from '@/features/admin/api/admin'
import type { AuditRow } from '@/features/admin/api/types'
import {
  AdminPage,
  DefinitionList,
  EmptyState,
  LoadingBlock,
  Mono,
  OutcomeBadge,
  Pagination,
  QueryError,
} from '@/features/admin/components/admin-ui'
import { AuditDetailDialog } from '@/features/admin/components/audit-detail-dialog'
import { AuditFiltersForm } from '@/features/admin/components/audit-filters-form'
import { ChainStateBanner } from '@/features/admin/components/chain-state'
import {
  auditApiQuery,
  auditCsvHref,
  auditParams,
  nextSort,
  PAGE_SIZES,
  SORT_FIELDS,
  parseAuditParams,
  sortDirection,
  type AuditState,
  type SortField,
} from '@/features/admin/lib/audit-filters'
import { formatCount, typedId } from '@/features/admin/lib/format-admin'

/** Start the CSV download once the session is known to be fresh (a plain link cannot refresh it). */
async function exportCsv(e: React.MouseEvent<HTMLAnchorElement>, href: string) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  await api('/api/auth/me').catch(() => undefined)
  const a = document.createElement('a')
  a.href = href
  a.download = 'audit-log.csv'
  document.body.appendChild(a)
  a.click()
  a.remove()
}

// The header's aria-sort tells assistive tech the order; the button inside changes it.
function SortHeader({ field, label, state, onSort, className }: { field: SortField; label: string; state: AuditState; onSort: (f: SortField) => void; className?: string }) {
  const dir = sortDirection(state.sort, field)
  const Icon = dir === 'ascending' ? ArrowUpIcon : dir === 'descending' ? ArrowDownIcon : ArrowUpDownIcon
  return (
    <TableHead aria-sort={dir} className={className}>
      <button
        type="button"
        onClick={() => onSort(field)}
        className="-mx-1 inline-flex items-center gap-1 rounded px-1 py-0.5 hover:text-foreground focus-visible:outline-none focus-visible:ring-[3px] focus-visible:ring-ring/60"
      >
        {label}
        <Icon aria-hidden className="size-3.5" />
      </button>
    </TableHead>
  )
}

function ActorCell({ row }: { row: AuditRow }) {
  const { t } = useTranslation()
  return (
    <span>
      {typedId(row.actor_type, row.actor_id) ?? '—'}
      {row.impersonator_id ? (
        <span className="block text-xs text-muted-foreground">{t('admin.audit.via', { who: row.impersonator_id })}</span>
      ) : null}
    </span>
  )
}

function AuditTable({ rows, state, onSort, onOpen }: { rows: AuditRow[]; state: AuditState; onSort: (f: SortField) => void; onOpen: (id: number) => void }) {
  const { t } = useTranslation()
  return (
    <Table label={t('admin.audit.tableLabel')}>
      <TableHeader>
        <TableRow>
          <SortHeader field="id" label={t('admin.audit.id')} state={state} onSort={onSort} />
          <SortHeader field="created_at" label={t('admin.audit.time')} state={state} onSort={onSort} />
          <SortHeader field="actor_id" label={t('admin.audit.actor')} state={state} onSort={onSort} />
          <SortHeader field="action" label={t('admin.audit.action')} state={state} onSort={onSort} />
          <TableHead>{t('admin.audit.target')}</TableHead>
          <SortHeader field="outcome" label={t('admin.audit.outcome')} state={state} onSort={onSort} />
          <SortHeader field="ip" label={t('admin.audit.ip')} state={state} onSort={onSort} />
          <TableHead>
            <span className="sr-only">{t('common.actions')}</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {rows.map((row) => (
          <TableRow key={row.id} data-testid={`audit-row-${row.id}`}>
            <th scope="row" className="px-2 text-left font-medium num">
              {row.id}
            </th>
            <TableCell>{formatDateTime(row.created_at)}</TableCell>
            <TableCell>
              <ActorCell row={row} />
            </TableCell>
            <TableCell>
              <Mono>{row.action}</Mono>
            </TableCell>
            <TableCell>{typedId(row.target_type, row.target_id) ?? '—'}</TableCell>
            <TableCell>
              <OutcomeBadge outcome={row.outcome} />
            </TableCell>
            <TableCell className="num">{row.ip ?? '—'}</TableCell>
            <TableCell className="text-right">
              <Button size="sm" variant="outline" onClick={() => onOpen(row.id)} aria-label={t('admin.audit.openRow', { id: row.id })}>
                {t('admin.common.details')}
              </Button>
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  )
}

function AuditCards({ rows, onOpen }: { rows: AuditRow[]; onOpen: (id: number) => void }) {
  const { t } = useTranslation()
  return (
    <ul aria-label={t('admin.audit.tableLabel')} className="grid gap-2">
      {rows.map((row) => (
        <li key={row.id} className="grid gap-2 rounded-lg border p-3" data-testid={`audit-row-${row.id}`}>
          <div className="flex items-center justify-between gap-2">
            <Mono className="text-sm font-semibold">{row.action}</Mono>
            <OutcomeBadge outcome={row.outcome} />
          </div>
          <DefinitionList
            items={[
              [t('admin.audit.id'), <span className="num">{row.id}</span>],
              [t('admin.audit.time'), formatDateTime(row.created_at)],
              [t('admin.audit.actor'), <ActorCell row={row} />],
              [t('admin.audit.target'), typedId(row.target_type, row.target_id)],
              [t('admin.audit.ip'), row.ip],
            ]}
          />
          <Button size="sm" variant="outline" className="justify-self-end" onClick={() => onOpen(row.id)} aria-label={t('admin.audit.openRow', { id: row.id })}>
            {t('admin.common.details')}
          </Button>
        </li>
      ))}
    </ul>
  )
}

/** The audit log: chain state, filters kept in the URL, server-side pages and sorting, details, CSV export. */
export function AuditPage() {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const [params, setParams] = useSearchParams()
  const state = parseAuditParams(params)
  const { data, error, isLoading, isFetching } = useAuditPage(auditApiQuery(state))
  const go = (next: Partial<AuditState>, replace = false) => setParams(auditParams({ ...state, ...next }), { replace })
  const csvHref = auditCsvHref(state.filters)
  const filterKey = JSON.stringify(state.filters)

  return (
    <AdminPage
      title={t('admin.audit.title')}
      description={t('admin.audit.description')}
      actions={
        <Button asChild variant="outline">
          <a href={csvHref} download="audit-log.csv" onClick={(e) => void exportCsv(e, csvHref)}>
            <DownloadIcon aria-hidden />
            {t('admin.audit.exportCsv')}
          </a>
        </Button>
      }
    >
      <ChainStateBanner onShowRow={(id) => go({ row: id })} />
      <AuditFiltersForm key={filterKey} filters={state.filters} onApply={(filters) => go({ filters, page: 1, row: undefined })} />
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-muted-foreground" aria-live="polite">
          {data ? t('admin.audit.matching', { count: data.total, formatted: formatCount(data.total) }) : null}
        </p>
        <div className="flex flex-wrap items-center gap-2">
          {phone ? (
            <>
              <Label htmlFor="audit-sort" className="text-sm font-normal text-muted-foreground">
                {t('admin.common.sortBy')}
              </Label>
              <NativeSelect id="audit-sort" className="w-48" value={state.sort} onChange={(e) => go({ sort: e.target.value as AuditState['sort'], page: 1 })}>
                {SORT_FIELDS.flatMap((f) =>
                  (['descending', 'ascending'] as const).map((dir) => (
                    <option key={`${f}-${dir}`} value={dir === 'descending' ? `-${f}` : f}>
                      {t('admin.audit.sortOption', { field: t(`admin.audit.sortFields.${f}`), direction: t(`admin.common.sort.${dir}`) })}
                    </option>
                  )),
                )}
              </NativeSelect>
            </>
          ) : null}
          <Label htmlFor="audit-per-page" className="text-sm font-normal text-muted-foreground">
            {t('admin.common.perPage')}
          </Label>
          <NativeSelect
            id="audit-per-page"
            className="w-20"
            value={state.perPage}
            onChange={(e) => go({ perPage: Number(e.target.value), page: 1 })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </NativeSelect>
        </div>
      </div>
      {isLoading ? (
        <LoadingBlock />
      ) : error ? (
        <QueryError error={error} />
      ) : !data || data.items.length === 0 ? (
        <EmptyState>{t('admin.audit.empty')}</EmptyState>
      ) : phone ? (
        <AuditCards rows={data.items} onOpen={(id) => go({ row: id })} />
      ) : (
        <AuditTable rows={data.items} state={state} onSort={(f) => go({ sort: nextSort(state.sort, f), page: 1 })} onOpen={(id) => go({ row: id })} />
      )}
      <Pagination
        label={t('admin.audit.pagination')}
        page={state.page}
        perPage={state.perPage}
        total={data?.total}
        busy={isFetching}
        onPage={(page) => go({ page })}
      />
      <AuditDetailDialog rowId={state.row} onClose={() => go({ row: undefined })} />
    </AdminPage>
  )
}
