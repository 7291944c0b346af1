import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { SendIcon } from 'lucide-react'
import { errorMessage } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { useRedeliver, useWebhookEvent } from '@/features/admin/api/admin'
import type { WebhookAttempt, WebhookDelivery } from '@/features/admin/api/types'
import { DefinitionList, JsonBlock, LoadingBlock, Mono, QueryError, StateBadge } from '@/features/admin/components/admin-ui'
import { DataTable, type Column } from '@/features/admin/components/data-table'
import { formatCount, prettyJson } from '@/features/admin/lib/format-admin'

/** A delivery status as a word and an icon (with a count when summarising). */
export function DeliveryBadge({ status, count }: { status: string; count?: number }) {
  const { t } = useTranslation()
  const tone = status === 'succeeded' ? 'good' : status === 'failed' ? 'bad' : status === 'retrying' || status === 'pending' ? 'warn' : 'neutral'
  const word = t(`admin.webhooks.status.${status}` as 'admin.webhooks.status.pending', { defaultValue: status })
  return <StateBadge tone={tone} label={count === undefined ? word : `${word}: ${formatCount(count)}`} />
}

function Attempts({ attempts }: { attempts: WebhookAttempt[] }) {
  const { t } = useTranslation()
  const columns: Column<WebhookAttempt>[] = [
    { key: 'n', header: t('admin.webhooks.attempt'), rowHeader: true, cell: (a) => <span className="num">{a.attempt}</span> },
    { key: 'at', header: t('admin.webhooks.time'), cell: (a) => formatDateTime(a.created_at) },
    {
      key: 'code',
      header: t('admin.webhooks.httpStatus'),
      cell: (a) =>
        a.status_code === null ? (
          t('admin.webhooks.noResponse')
        ) : (
          <StateBadge tone={a.status_code >= 200 && a.status_code < 300 ? 'good' : 'bad'} label={String(a.status_code)} />
        ),
    },
    { key: 'ms', header: t('admin.webhooks.duration'), numeric: true, cell: (a) => (a.duration_ms === null ? '—' : t('admin.webhooks.ms', { value: formatCount(a.duration_ms) })) },
    { key: 'error', header: t('admin.webhooks.error'), cell: (a) => a.error ?? '—' },
    {
      key: 'body',
      header: t('admin.webhooks.response'),
      cell: (a) => (a.response_body ? <span className="block max-w-60 truncate font-mono text-xs" title={a.response_body}>{a.response_body}</span> : '—'),
    },
  ]
  if (!attempts.length) return <p className="text-sm text-muted-foreground">{t('admin.webhooks.noAttempts')}</p>
  return <DataTable label={t('admin.webhooks.attempts')} rows={attempts} columns={columns} rowKey={(a) => `${a.attempt}-${a.created_at}`} />
}

/** One event: its payload as sent, each delivery with its attempt log, and redelivery. */
export function EventDetailDialog({ eventId, urlOf, onClose }: { eventId: number | undefined; urlOf: (endpointId: number) => string; onClose: () => void }) {
  const { t } = useTranslation()
  // Keep showing the last event while the dialog animates closed (the URL has already dropped it).
  const [shownId, setShownId] = useState(eventId)
  if (eventId !== undefined && eventId !== shownId) setShownId(eventId)
  const { data, error, isLoading } = useWebhookEvent(shownId)
  const redeliver = useRedeliver()

  async function again(delivery?: WebhookDelivery) {
    if (shownId === undefined) return
    try {
      const { queued } = await redeliver.mutateAsync({ eventId: shownId, endpointId: delivery?.endpoint_id })
      toast.success(t('admin.webhooks.queued', { count: queued }))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Dialog open={eventId !== undefined} onOpenChange={(open) => (open ? undefined : onClose())}>
      <DialogContent className="max-w-3xl">
        <DialogHeader>
          <DialogTitle>{t('admin.webhooks.eventTitle', { id: shownId ?? '' })}</DialogTitle>
          <DialogDescription>{data ? `${data.type} · ${formatDateTime(data.created_at)}` : t('common.loading')}</DialogDescription>
        </DialogHeader>
        {isLoading ? (
          <LoadingBlock />
        ) : error || !data ? (
          <QueryError error={error} />
        ) : (
          <div className="grid gap-4">
            <DefinitionList
              items={[
                [t('admin.webhooks.msgId'), <Mono>{data.msg_id}</Mono>],
                [t('admin.webhooks.eventType'), <Mono>{data.type}</Mono>],
                [t('admin.webhooks.dispatched'), formatDateTime(data.dispatched_at)],
              ]}
            />
            <div className="grid gap-1.5">
              <h3 className="text-sm font-semibold">{t('admin.webhooks.payload')}</h3>
              <JsonBlock value={prettyJson(data.payload)} label={t('admin.webhooks.payload')} />
            </div>
            <div className="grid gap-3">
              <div className="flex flex-wrap items-center justify-between gap-2">
                <h3 className="text-sm font-semibold">{t('admin.webhooks.deliveries')}</h3>
                <Button size="sm" variant="outline" onClick={() => void again()} disabled={redeliver.isPending}>
                  <SendIcon aria-hidden />
                  {t('admin.webhooks.redeliverAll')}
                </Button>
              </div>
              {data.deliveries.length === 0 ? <p className="text-sm text-muted-foreground">{t('admin.webhooks.noDeliveries')}</p> : null}
              {data.deliveries.map((d) => (
                <section key={d.id} className="grid gap-2 rounded-lg border p-3" aria-label={t('admin.webhooks.deliveryTo', { url: urlOf(d.endpoint_id) })} data-testid={`delivery-${d.id}`}>
                  <div className="flex flex-wrap items-center justify-between gap-2">
                    <span className="min-w-0 break-all text-sm font-medium">{urlOf(d.endpoint_id)}</span>
                    <DeliveryBadge status={d.status} />
                  </div>
                  <DefinitionList
                    items={[
                      [t('admin.webhooks.attempts'), <span className="num">{d.attempts}</span>],
                      [t('admin.webhooks.lastStatus'), d.last_status_code === null ? '—' : String(d.last_status_code)],
                      [t('admin.webhooks.nextAttempt'), formatDateTime(d.next_attempt_at)],
                      [t('admin.webhooks.delivered'), formatDateTime(d.delivered_at)],
                    ]}
                  />
                  <Attempts attempts={d.attempt_log ?? []} />
                  <Button size="sm" variant="outline" className="justify-self-end" onClick={() => void again(d)} disabled={redeliver.isPending}>
                    <SendIcon aria-hidden />
                    {t('admin.webhooks.redeliver')}
                  </Button>
                </section>
              ))}
            </div>
          </div>
        )}
      </DialogContent>
    </Dialog>
  )
}
