import { useState } from 'react'
import { Link } from 'react-router'
import { useTranslation } from 'react-i18next'
import { ShieldAlertIcon } from 'lucide-react'
import { formatDateTime } from '@/lib/format'
import { Alert } from '@/components/ui/alert'
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { useAuditRow, useChainState } from '@/features/admin/api/admin'
import {
  DefinitionList,
  JsonBlock,
  LoadingBlock,
  Mono,
  OutcomeBadge,
  QueryError,
} from '@/features/admin/components/admin-ui'
import { prettyJson, typedId } from '@/features/admin/lib/format-admin'

/** Every field of one audit row: who, what, to what, from where, the details and the chain hashes. */
export function AuditDetailDialog({ rowId, onClose }: { rowId: number | undefined; onClose: () => void }) {
  const { t } = useTranslation()
  // Keep showing the last row while the dialog animates closed (the URL has already dropped it).
  const [shownId, setShownId] = useState(rowId)
  if (rowId !== undefined && rowId !== shownId) setShownId(rowId)
  const { data: row, error, isLoading } = useAuditRow(shownId)
  const { data: chain } = useChainState()
  const brokenHere = chain?.status === 'broken' && chain.broken_at === shownId
  const userLink = (type: string | null, id: string | null) =>
    (type === 'user' || type === 'admin') && id && /^\d+$/.test(id) ? (
      <Link className="text-primary underline underline-offset-4" to={`/admin/users/${id}`}>
        {typedId(type, id)}
      </Link>
    ) : (
      typedId(type, id)
    )
  return (
    <Dialog open={rowId !== undefined} onOpenChange={(open) => (open ? undefined : onClose())}>
      <DialogContent className="max-w-2xl">
        <DialogHeader>
          <DialogTitle>{t('admin.audit.detailTitle', { id: shownId ?? '' })}</DialogTitle>
          <DialogDescription>{row ? `${row.action} · ${formatDateTime(row.created_at)}` : t('common.loading')}</DialogDescription>
        </DialogHeader>
        {brokenHere ? (
          <Alert variant="destructive">
            <ShieldAlertIcon aria-hidden />
            {t('admin.audit.brokenHere')}
          </Alert>
        ) : null}
        {isLoading ? (
          <LoadingBlock />
        ) : error || !row ? (
          <QueryError error={error} />
        ) : (
          <div className="grid gap-4">
            <DefinitionList
              items={[
                [t('admin.audit.id'), <span className="num">{row.id}</span>],
                [t('admin.audit.time'), formatDateTime(row.created_at)],
                [t('admin.audit.action'), <Mono>{row.action}</Mono>],
                [t('admin.audit.outcome'), <OutcomeBadge outcome={row.outcome} />],
                [t('admin.audit.actor'), userLink(row.actor_type, row.actor_id)],
                [t('admin.audit.impersonator'), row.impersonator_id],
                [t('admin.audit.target'), userLink(row.target_type, row.target_id)],
                [t('admin.audit.ip'), row.ip],
                [t('admin.audit.userAgent'), row.user_agent ? <span className="break-all">{row.user_agent}</span> : null],
                [t('admin.audit.requestId'), row.request_id ? <Mono>{row.request_id}</Mono> : null],
              ]}
            />
            <div className="grid gap-1.5">
              <h3 className="text-sm font-semibold">{t('admin.audit.details')}</h3>
              <JsonBlock value={prettyJson(row.details)} label={t('admin.audit.details')} />
            </div>
            <div className="grid gap-1.5">
              <h3 className="text-sm font-semibold">{t('admin.audit.hashes')}</h3>
              <DefinitionList
                items={[
                  [t('admin.audit.prevHash'), <Mono>{row.prev_hash}</Mono>],
                  [t('admin.audit.hash'), <Mono>{row.hash}</Mono>],
                ]}
              />
            </div>
          </div>
        )}
      </DialogContent>
    </Dialog>
  )
}
