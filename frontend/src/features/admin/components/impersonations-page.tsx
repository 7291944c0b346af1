import { useState } from 'react'
import { Link, useSearchParams } from 'react-router'
import { useTranslation } from 'react-i18next'
import { SearchIcon } from 'lucide-react'
import { formatDateTime } from '@/lib/format'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useImpersonations } from '@/features/admin/api/admin'
import type { Impersonation } from '@/features/admin/api/types'
import {
  AdminPage,
  DefinitionList,
  EmptyState,
  LoadingBlock,
  Mono,
  OutcomeBadge,
  Pagination,
  QueryError,
  StateBadge,
} from '@/features/admin/components/admin-ui'
import {
  LIST_PER_PAGE,
  listApiQuery,
  listParams,
  parseImpersonationParams,
  type ImpersonationListState,
} from '@/features/admin/lib/list-params'
import { typedId } from '@/features/admin/lib/format-admin'

function Filters({ state, onApply }: { state: ImpersonationListState; onApply: (s: ImpersonationListState) => void }) {
  const { t } = useTranslation()
  const [admin, setAdmin] = useState(state.admin_id ?? '')
  const [user, setUser] = useState(state.user_id ? String(state.user_id) : '')
  const [invalid, setInvalid] = useState(false)
  return (
    <form
      role="search"
      aria-label={t('admin.impersonations.filters')}
      className="grid gap-3 rounded-lg border p-3 sm:grid-cols-[1fr_1fr_auto] sm:items-start"
      noValidate
      onSubmit={(e) => {
        e.preventDefault()
        const userId = user.trim()
        if (userId && !/^\d+$/.test(userId)) {
          setInvalid(true)
          return
        }
        setInvalid(false)
        onApply({ admin_id: admin.trim() || undefined, user_id: userId ? Number(userId) : undefined, page: 1 })
      }}
    >
      <Field id="imp-admin" label={t('admin.impersonations.admin')} hint={t('admin.impersonations.adminHint')}>
        <Input value={admin} maxLength={128} onChange={(e) => setAdmin(e.target.value)} autoComplete="off" />
      </Field>
      <Field id="imp-user" label={t('admin.impersonations.userId')} error={invalid ? t('admin.impersonations.userIdInvalid') : undefined}>
        <Input value={user} inputMode="numeric" onChange={(e) => setUser(e.target.value)} autoComplete="off" />
      </Field>
      <Button type="submit" className="sm:mt-[1.375rem]">
        <SearchIcon aria-hidden />
        {t('admin.impersonations.apply')}
      </Button>
    </form>
  )
}

function SessionCard({ item, now }: { item: Impersonation; now: number }) {
  const { t } = useTranslation()
  const ended = item.ended_at ?? (Date.parse(item.expires_at) < now ? item.expires_at : null)
  return (
    <li className="grid gap-3 rounded-lg border p-4" data-testid={`impersonation-${item.session_id}`}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-base font-semibold">
          {t('admin.impersonations.heading', { admin: item.admin_id, user: item.user_email })}
        </h2>
        {ended ? (
          <StateBadge tone="neutral" label={t('admin.impersonations.ended')} />
        ) : (
          <StateBadge tone="warn" label={t('admin.impersonations.active')} />
        )}
      </div>
      <DefinitionList
        items={[
          [t('admin.impersonations.admin'), item.admin_id],
          [
            t('admin.impersonations.user'),
            <Link to={`/admin/users/${item.user_id}`} className="text-primary underline underline-offset-4">
              {item.user_email}
            </Link>,
          ],
          [t('admin.impersonations.reason'), item.reason],
          [t('admin.impersonations.started'), formatDateTime(item.started_at)],
          [t('admin.impersonations.endedAt'), ended ? formatDateTime(ended) : t('admin.impersonations.until', { time: formatDateTime(item.expires_at) })],
          [t('admin.audit.ip'), item.ip],
        ]}
      />
      <div className="grid gap-1.5">
        <h3 className="text-sm font-semibold">{t('admin.impersonations.actions', { count: item.actions.length })}</h3>
        {item.actions.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t('admin.impersonations.noActions')}</p>
        ) : (
          <ol aria-label={t('admin.impersonations.actionsLabel', { user: item.user_email })} className="grid gap-1">
            {item.actions.map((a) => (
              <li key={a.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 rounded-md bg-muted/60 px-2 py-1.5 text-sm">
                <span className="text-muted-foreground">{formatDateTime(a.created_at)}</span>
                <Link to={`/admin/audit?row=${a.id}`} className="font-mono text-xs underline underline-offset-4 hover:decoration-2">
                  {a.action}
                </Link>
                <OutcomeBadge outcome={a.outcome} />
                {typedId(a.target_type, a.target_id) ? <Mono>{typedId(a.target_type, a.target_id)}</Mono> : null}
              </li>
            ))}
          </ol>
        )}
      </div>
    </li>
  )
}

/** Who impersonated whom, when, why, and what they did in that session. */
export function ImpersonationsPage() {
  const { t } = useTranslation()
  const [params, setParams] = useSearchParams()
  const state = parseImpersonationParams(params)
  const { data, error, isLoading, isFetching, dataUpdatedAt } = useImpersonations(listApiQuery(state))
  return (
    <AdminPage title={t('admin.impersonations.title')} description={t('admin.impersonations.description')}>
      <Filters key={params.toString()} state={state} onApply={(s) => setParams(listParams(s))} />
      {isLoading ? (
        <LoadingBlock />
      ) : error ? (
        <QueryError error={error} />
      ) : !data || data.items.length === 0 ? (
        <EmptyState>{t('admin.impersonations.empty')}</EmptyState>
      ) : (
        <ul aria-label={t('admin.impersonations.listLabel')} className="grid gap-3">
          {data.items.map((item) => (
            <SessionCard key={item.session_id} item={item} now={dataUpdatedAt} />
          ))}
        </ul>
      )}
      <Pagination
        label={t('admin.impersonations.pagination')}
        page={state.page}
        perPage={LIST_PER_PAGE}
        total={data?.total}
        busy={isFetching}
        onPage={(page) => setParams(listParams({ ...state, page }))}
      />
    </AdminPage>
  )
}
