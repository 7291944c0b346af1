import { useState } from 'react'
import { useSearchParams } from 'react-router'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { CopyIcon, KeyRoundIcon, PlusIcon, PowerIcon, PowerOffIcon, SearchIcon, SendIcon } from 'lucide-react'
import { errorMessage } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { NativeSelect } from '@/components/ui/native-select'
import {
  useAddEndpoint,
  useEndpoints,
  useRedeliverFailed,
  useRotateSecret,
  useSetEndpointEnabled,
  useWebhookEvents,
} from '@/features/admin/api/admin'
import type { WebhookEndpoint, WebhookEndpointWithSecret, WebhookEvent } from '@/features/admin/api/types'
import {
  AdminPage,
  ConfirmDialog,
  EmptyState,
  LoadingBlock,
  Mono,
  Pagination,
  QueryError,
  StateBadge,
} from '@/features/admin/components/admin-ui'
import { DataTable, type Column } from '@/features/admin/components/data-table'
import { DeliveryBadge, EventDetailDialog } from '@/features/admin/components/webhook-event-dialog'
import { parseEventPatterns } from '@/features/admin/lib/format-admin'
import {
  DELIVERY_STATUSES,
  LIST_PER_PAGE,
  listApiQuery,
  listParams,
  parseEventParams,
  type EventListState,
} from '@/features/admin/lib/list-params'
import { deliveryCounts } from '@/features/admin/lib/system-status'
import { isoToLocalInput, localInputToIso } from '@/features/admin/lib/url-state'

/** A new secret, shown exactly once (the server keeps only its encrypted form and never shows it again). */
function SecretDialog({ endpoint, onClose }: { endpoint: WebhookEndpointWithSecret | null; onClose: () => void }) {
  const { t } = useTranslation()
  async function copy() {
    if (!endpoint) return
    try {
      await navigator.clipboard.writeText(endpoint.secret)
      toast.success(t('common.copied'))
    } catch {
      toast.error(t('common.copyFailed'))
    }
  }
  return (
    <Dialog open={endpoint !== null} onOpenChange={(open) => (open ? undefined : onClose())}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{t('admin.webhooks.secretTitle')}</DialogTitle>
          <DialogDescription>{t('admin.webhooks.secretText', { url: endpoint?.url ?? '' })}</DialogDescription>
        </DialogHeader>
        <Alert variant="warning">{t('admin.webhooks.secretOnce')}</Alert>
        <div className="flex items-center gap-2 rounded-md border bg-muted p-3">
          <Mono className="flex-1 text-sm">
            <span data-testid="endpoint-secret">{endpoint?.secret}</span>
          </Mono>
          <Button size="sm" variant="outline" onClick={copy}>
            <CopyIcon aria-hidden />
            {t('common.copy')}
          </Button>
        </div>
        <DialogFooter>
          <Button onClick={onClose}>{t('admin.webhooks.secretStored')}</Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  )
}

function AddEndpointDialog({ open, onOpenChange, onAdded }: { open: boolean; onOpenChange: (o: boolean) => void; onAdded: (e: WebhookEndpointWithSecret) => void }) {
  const { t } = useTranslation()
  const add = useAddEndpoint()
  const [url, setUrl] = useState('')
  const [events, setEvents] = useState('')
  const [description, setDescription] = useState('')
  const [errors, setErrors] = useState<{ url?: string; events?: string; form?: string }>({})

  function reset() {
    setUrl('')
    setEvents('')
    setDescription('')
    setErrors({})
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    if (!/^https?:\/\/[^\s/]+/i.test(url.trim())) {
      setErrors({ url: t('admin.webhooks.urlInvalid') })
      return
    }
    try {
      const created = await add.mutateAsync({ url: url.trim(), events: parseEventPatterns(events), description: description.trim() })
      reset()
      onOpenChange(false)
      onAdded(created)
    } catch (err) {
      const fields = (err as { fields?: Record<string, string[] | string> }).fields
      const first = (v: string[] | string | undefined) => (Array.isArray(v) ? v[0] : v)
      setErrors({ url: first(fields?.url), events: first(fields?.events), form: fields ? undefined : errorMessage(t, err) })
    }
  }

  return (
    <Dialog open={open} onOpenChange={(o) => { if (!o) reset(); onOpenChange(o) }}>
      <DialogContent>
        <form onSubmit={submit} noValidate className="grid gap-4" aria-label={t('admin.webhooks.addTitle')}>
          <DialogHeader>
            <DialogTitle>{t('admin.webhooks.addTitle')}</DialogTitle>
            <DialogDescription>{t('admin.webhooks.addText')}</DialogDescription>
          </DialogHeader>
          <Field id="endpoint-url" label={t('admin.webhooks.url')} error={errors.url}>
            <Input type="url" value={url} maxLength={2048} onChange={(e) => setUrl(e.target.value)} placeholder="https://crm.example.com/hooks" autoComplete="off" />
          </Field>
          <Field id="endpoint-events" label={t('admin.webhooks.events')} hint={t('admin.webhooks.eventsHint')} error={errors.events}>
            <Input value={events} onChange={(e) => setEvents(e.target.value)} placeholder="deposit.*, user.created" autoComplete="off" />
          </Field>
          <Field id="endpoint-description" label={t('admin.webhooks.descriptionLabel')}>
            <Input value={description} maxLength={255} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />
          </Field>
          {errors.form ? (
            <p role="alert" className="text-sm font-medium text-destructive">
              {errors.form}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" disabled={add.isPending}>
              {t('admin.webhooks.add')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}

function Endpoints({ onSecret }: { onSecret: (e: WebhookEndpointWithSecret) => void }) {
  const { t } = useTranslation()
  const { data, error, isLoading } = useEndpoints()
  const setEnabled = useSetEndpointEnabled()
  const rotate = useRotateSecret()
  const [adding, setAdding] = useState(false)
  const [target, setTarget] = useState<{ endpoint: WebhookEndpoint; action: 'disable' | 'rotate' } | null>(null)
  const [overlap, setOverlap] = useState('24')

  async function enable(endpoint: WebhookEndpoint) {
    try {
      await setEnabled.mutateAsync({ id: endpoint.id, enabled: true })
      toast.success(t('admin.webhooks.enabled', { url: endpoint.url }))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  const columns: Column<WebhookEndpoint>[] = [
    { key: 'url', header: t('admin.webhooks.url'), rowHeader: true, cell: (e) => <span className="break-all whitespace-normal">{e.url}</span>, className: 'min-w-52 max-w-80 whitespace-normal' },
    { key: 'description', header: t('admin.webhooks.descriptionLabel'), cell: (e) => e.description || '—' },
    { key: 'events', header: t('admin.webhooks.events'), cell: (e) => (e.events?.length ? <Mono>{e.events.join(', ')}</Mono> : t('admin.webhooks.allEvents')) },
    {
      key: 'state',
      header: t('admin.webhooks.state'),
      cell: (e) =>
        e.enabled ? (
          <StateBadge tone="good" label={t('admin.webhooks.stateEnabled')} />
        ) : (
          <span className="grid gap-0.5">
            <StateBadge tone="bad" label={t('admin.webhooks.stateDisabled')} />
            {e.disabled_reason ? <span className="text-xs text-muted-foreground">{e.disabled_reason}</span> : null}
          </span>
        ),
    },
    {
      key: 'deliveries',
      header: t('admin.webhooks.deliveries'),
      cell: (e) => {
        const entries = Object.entries(e.deliveries)
        return entries.length ? (
          <span className="flex flex-wrap gap-1">
            {entries.map(([status, n]) => (
              <DeliveryBadge key={status} status={status} count={n} />
            ))}
          </span>
        ) : (
          '—'
        )
      },
    },
    {
      key: 'secret',
      header: t('admin.webhooks.previousSecret'),
      cell: (e) => (e.previous_secret_active_until ? t('admin.webhooks.previousUntil', { time: formatDateTime(e.previous_secret_active_until) }) : '—'),
      className: 'min-w-36 whitespace-normal',
      hideOnPhone: true,
    },
    { key: 'created', header: t('admin.webhooks.created'), cell: (e) => formatDateTime(e.created_at), className: 'min-w-28 whitespace-normal', hideOnPhone: true },
  ]

  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-2">
        <div className="grid gap-1.5">
          <CardTitle>{t('admin.webhooks.endpoints')}</CardTitle>
          <CardDescription>{t('admin.webhooks.endpointsHint')}</CardDescription>
        </div>
        <Button onClick={() => setAdding(true)}>
          <PlusIcon aria-hidden />
          {t('admin.webhooks.add')}
        </Button>
      </CardHeader>
      <CardContent>
        {isLoading ? (
          <LoadingBlock />
        ) : error ? (
          <QueryError error={error} />
        ) : !data?.length ? (
          <EmptyState>{t('admin.webhooks.noEndpoints')}</EmptyState>
        ) : (
          <DataTable
            label={t('admin.webhooks.endpoints')}
            rows={data}
            columns={columns}
            rowKey={(e) => e.id}
            testId={(e) => `endpoint-${e.id}`}
            actions={(e) => (
              <>
                <Button size="sm" variant="outline" onClick={() => setTarget({ endpoint: e, action: 'rotate' })} aria-label={t('admin.webhooks.rotateFor', { url: e.url })}>
                  <KeyRoundIcon aria-hidden />
                  {t('admin.webhooks.rotate')}
                </Button>
                {e.enabled ? (
                  <Button size="sm" variant="outline" onClick={() => setTarget({ endpoint: e, action: 'disable' })} aria-label={t('admin.webhooks.disableFor', { url: e.url })}>
                    <PowerOffIcon aria-hidden />
                    {t('admin.webhooks.disable')}
                  </Button>
                ) : (
                  <Button size="sm" variant="outline" onClick={() => void enable(e)} disabled={setEnabled.isPending} aria-label={t('admin.webhooks.enableFor', { url: e.url })}>
                    <PowerIcon aria-hidden />
                    {t('admin.webhooks.enable')}
                  </Button>
                )}
              </>
            )}
          />
        )}
      </CardContent>
      <AddEndpointDialog open={adding} onOpenChange={setAdding} onAdded={onSecret} />
      <ConfirmDialog
        open={target?.action === 'disable'}
        onOpenChange={(open) => (open ? undefined : setTarget(null))}
        title={t('admin.webhooks.disableTitle')}
        description={t('admin.webhooks.disableText', { url: target?.endpoint.url ?? '' })}
        confirmLabel={t('admin.webhooks.disable')}
        destructive
        withReason
        onConfirm={async (reason) => {
          if (!target) return
          await setEnabled.mutateAsync({ id: target.endpoint.id, enabled: false, reason })
          toast.success(t('admin.webhooks.disabled', { url: target.endpoint.url }))
        }}
      />
      <ConfirmDialog
        open={target?.action === 'rotate'}
        onOpenChange={(open) => (open ? undefined : setTarget(null))}
        title={t('admin.webhooks.rotateTitle')}
        description={t('admin.webhooks.rotateText', { url: target?.endpoint.url ?? '' })}
        confirmLabel={t('admin.webhooks.rotate')}
        onConfirm={async () => {
          if (!target) return
          const hours = Number(overlap)
          const result = await rotate.mutateAsync({ id: target.endpoint.id, overlapHours: Number.isFinite(hours) && hours >= 0 && hours <= 720 ? hours : 24 })
          onSecret(result)
        }}
      >
        <Field id="rotate-overlap" label={t('admin.webhooks.overlap')} hint={t('admin.webhooks.overlapHint')}>
          <Input type="number" min={0} max={720} step={1} inputMode="numeric" value={overlap} onChange={(e) => setOverlap(e.target.value)} />
        </Field>
      </ConfirmDialog>
    </Card>
  )
}

function EventFilters({ state, endpoints, onApply }: { state: EventListState; endpoints: WebhookEndpoint[]; onApply: (s: EventListState) => void }) {
  const { t } = useTranslation()
  const [type, setType] = useState(state.type ?? '')
  const [status, setStatus] = useState<string>(state.status ?? '')
  const [endpoint, setEndpoint] = useState(state.endpoint_id ? String(state.endpoint_id) : '')
  const [since, setSince] = useState(isoToLocalInput(state.since))
  return (
    <form
      role="search"
      aria-label={t('admin.webhooks.eventFilters')}
      noValidate
      className="grid gap-3 rounded-lg border p-3 sm:grid-cols-2 lg:grid-cols-[1fr_10rem_14rem_14rem_auto] lg:items-end"
      onSubmit={(e) => {
        e.preventDefault()
        onApply({
          type: type.trim() || undefined,
          status: (status || undefined) as EventListState['status'],
          endpoint_id: endpoint ? Number(endpoint) : undefined,
          since: localInputToIso(since),
          event: undefined,
          page: 1,
        })
      }}
    >
      <Field id="events-type" label={t('admin.webhooks.eventType')} hint={t('admin.webhooks.eventTypeHint')}>
        <Input value={type} maxLength={64} onChange={(e) => setType(e.target.value)} autoComplete="off" />
      </Field>
      <Field id="events-status" label={t('admin.webhooks.deliveryStatus')}>
        <NativeSelect value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('admin.common.any')}</option>
          {DELIVERY_STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`admin.webhooks.status.${s}`)}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Field id="events-endpoint" label={t('admin.webhooks.endpoint')}>
        <NativeSelect value={endpoint} onChange={(e) => setEndpoint(e.target.value)}>
          <option value="">{t('admin.common.any')}</option>
          {endpoints.map((ep) => (
            <option key={ep.id} value={ep.id}>
              {ep.url}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Field id="events-since" label={t('admin.webhooks.since')}>
        <Input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
      </Field>
      <Button type="submit" className="lg:mb-[1.375rem]">
        <SearchIcon aria-hidden />
        {t('admin.webhooks.applyFilters')}
      </Button>
    </form>
  )
}

function RedeliverFailed({ endpoints }: { endpoints: WebhookEndpoint[] }) {
  const { t } = useTranslation()
  const redeliver = useRedeliverFailed()
  const [since, setSince] = useState('')
  const [endpoint, setEndpoint] = useState('')
  const [invalid, setInvalid] = useState(false)
  return (
    <form
      aria-label={t('admin.webhooks.redeliverFailedTitle')}
      noValidate
      className="grid gap-3 rounded-lg border p-3 sm:grid-cols-[14rem_14rem_auto] sm:items-end"
      onSubmit={async (e) => {
        e.preventDefault()
        const iso = localInputToIso(since)
        setInvalid(!iso)
        if (!iso) return
        try {
          const { queued } = await redeliver.mutateAsync({ since: iso, endpointId: endpoint ? Number(endpoint) : undefined })
          toast.success(t('admin.webhooks.queued', { count: queued }))
        } catch (err) {
          toast.error(errorMessage(t, err))
        }
      }}
    >
      <Field id="redeliver-since" label={t('admin.webhooks.failedSince')} error={invalid ? t('admin.webhooks.sinceRequired') : undefined}>
        <Input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
      </Field>
      <Field id="redeliver-endpoint" label={t('admin.webhooks.endpoint')}>
        <NativeSelect value={endpoint} onChange={(e) => setEndpoint(e.target.value)}>
          <option value="">{t('admin.webhooks.allEndpoints')}</option>
          {endpoints
            .filter((ep) => ep.enabled)
            .map((ep) => (
              <option key={ep.id} value={ep.id}>
                {ep.url}
              </option>
            ))}
        </NativeSelect>
      </Field>
      <Button type="submit" variant="outline" disabled={redeliver.isPending} className={invalid ? 'justify-self-start sm:mb-[1.375rem]' : 'justify-self-start'}>
        <SendIcon aria-hidden />
        {t('admin.webhooks.redeliverFailed')}
      </Button>
    </form>
  )
}

function Events() {
  const { t } = useTranslation()
  const [params, setParams] = useSearchParams()
  const state = parseEventParams(params)
  const { data: endpoints = [] } = useEndpoints()
  const { data, error, isLoading, isFetching } = useWebhookEvents(listApiQuery(state, ['event']))
  const go = (next: Partial<EventListState>) => setParams(listParams({ ...state, ...next }))
  const urlOf = (id: number) => endpoints.find((e) => e.id === id)?.url ?? `#${id}`

  const columns: Column<WebhookEvent>[] = [
    { key: 'id', header: t('admin.webhooks.eventId'), rowHeader: true, cell: (e) => <span className="num">{e.id}</span> },
    { key: 'type', header: t('admin.webhooks.eventType'), cell: (e) => <Mono>{e.type}</Mono> },
    { key: 'created', header: t('admin.webhooks.created'), cell: (e) => formatDateTime(e.created_at) },
    { key: 'msg', header: t('admin.webhooks.msgId'), cell: (e) => <Mono>{e.msg_id}</Mono>, hideOnPhone: true },
    {
      key: 'deliveries',
      header: t('admin.webhooks.deliveries'),
      cell: (e) =>
        e.deliveries.length ? (
          <span className="flex flex-wrap gap-1">
            {deliveryCounts(e.deliveries).map(([status, n]) => (
              <DeliveryBadge key={status} status={status} count={n} />
            ))}
          </span>
        ) : e.dispatched_at ? (
          t('admin.webhooks.noDeliveries')
        ) : (
          t('admin.webhooks.notDispatched')
        ),
    },
  ]

  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('admin.webhooks.eventsTitle')}</CardTitle>
        <CardDescription>{t('admin.webhooks.eventsHint')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <EventFilters key={params.toString()} state={state} endpoints={endpoints} onApply={(s) => setParams(listParams(s))} />
        <RedeliverFailed endpoints={endpoints} />
        {isLoading ? (
          <LoadingBlock />
        ) : error ? (
          <QueryError error={error} />
        ) : !data?.items.length ? (
          <EmptyState>{t('admin.webhooks.noEvents')}</EmptyState>
        ) : (
          <DataTable
            label={t('admin.webhooks.eventsTitle')}
            rows={data.items}
            columns={columns}
            rowKey={(e) => e.id}
            testId={(e) => `event-${e.id}`}
            actions={(e) => (
              <Button size="sm" variant="outline" onClick={() => go({ event: e.id })} aria-label={t('admin.webhooks.openEvent', { id: e.id, type: e.type })}>
                {t('admin.common.details')}
              </Button>
            )}
          />
        )}
        <Pagination
          label={t('admin.webhooks.pagination')}
          page={state.page}
          perPage={LIST_PER_PAGE}
          total={data?.total}
          busy={isFetching}
          onPage={(page) => go({ page })}
        />
        <EventDetailDialog eventId={state.event} urlOf={urlOf} onClose={() => go({ event: undefined })} />
      </CardContent>
    </Card>
  )
}

/** Outgoing webhooks to the CRM: endpoints and their secrets, the event log with attempts, redelivery. */
export function WebhooksPage() {
  const { t } = useTranslation()
  const [secret, setSecret] = useState<WebhookEndpointWithSecret | null>(null)
  return (
    <AdminPage title={t('admin.webhooks.title')} description={t('admin.webhooks.description')}>
      <Endpoints onSecret={setSecret} />
      <Events />
      <SecretDialog endpoint={secret} onClose={() => setSecret(null)} />
    </AdminPage>
  )
}

