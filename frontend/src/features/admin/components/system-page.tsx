import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { formatDateTime, formatPrice } from '@/lib/format'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Label } from '@/components/ui/label'
import { Switch } from '@/components/ui/switch'
import { SYSTEM_REFRESH_MS, useSystemStatus } from '@/features/admin/api/admin'
import type { EngineShard, QueueDepth, QuoteAge, SystemStatus } from '@/features/admin/api/types'
import { AdminPage, DefinitionList, EmptyState, LoadingBlock, QueryError, StateBadge } from '@/features/admin/components/admin-ui'
import { DataTable, type Column } from '@/features/admin/components/data-table'
import { formatAge, formatCount } from '@/features/admin/lib/format-admin'
import { ageSeconds, engineState, feedMode, listField, msField } from '@/features/admin/lib/system-status'

function digitsOf(price: string | null): number {
  const dot = price?.indexOf('.') ?? -1
  return price && dot >= 0 ? price.length - dot - 1 : 0
}

function Feed({ data, now }: { data: SystemStatus; now: number }) {
  const { t } = useTranslation()
  const status = data.feed.status
  const mode = feedMode(status, now)
  const stale = new Set(listField(status.stale_symbols))
  const failed = listField(status.failed_symbols)
  const columns: Column<QuoteAge>[] = [
    { key: 'symbol', header: t('admin.system.symbol'), rowHeader: true, cell: (q) => q.symbol },
    { key: 'bid', header: t('admin.system.bid'), numeric: true, cell: (q) => formatPrice(q.bid, digitsOf(q.bid)) },
    { key: 'ask', header: t('admin.system.ask'), numeric: true, cell: (q) => formatPrice(q.ask, digitsOf(q.ask)) },
    { key: 'age', header: t('admin.system.quoteAge'), numeric: true, cell: (q) => formatAge(q.age_s) },
    {
      key: 'state',
      header: t('admin.system.quoteState'),
      cell: (q) =>
        stale.has(q.symbol) ? (
          <StateBadge tone="warn" label={t('admin.system.stale')} />
        ) : failed.includes(q.symbol) ? (
          <StateBadge tone="bad" label={t('admin.system.failed')} />
        ) : (
          <StateBadge tone="good" label={t('admin.system.fresh')} />
        ),
    },
  ]
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('admin.system.feed')}</CardTitle>
        <CardDescription>{t('admin.system.feedHint')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="flex flex-wrap items-center gap-2" data-testid="feed-mode" data-mode={mode}>
          <span className="text-sm font-medium">{t('admin.system.mode')}</span>
          <StateBadge tone={mode === 'ws' ? 'good' : mode === 'rest-fallback' ? 'warn' : 'bad'} label={t(`admin.system.modes.${mode}`)} />
        </div>
        <DefinitionList
          items={[
            [t('admin.system.since'), formatDateTime(msField(status, 'since'))],
            [t('admin.system.lastMessage'), formatAge(ageSeconds(msField(status, 'last_message_at'), now))],
            [t('admin.system.source'), status.source],
            [t('admin.system.failedSymbols'), failed.length ? failed.join(', ') : t('admin.common.none')],
            [t('admin.system.error'), status.error || t('admin.common.none')],
          ]}
        />
        {data.feed.quotes.length ? (
          <DataTable label={t('admin.system.quotes')} rows={data.feed.quotes} columns={columns} rowKey={(q) => q.symbol} testId={(q) => `quote-${q.symbol}`} />
        ) : (
          <EmptyState>{t('admin.system.noQuotes')}</EmptyState>
        )}
      </CardContent>
    </Card>
  )
}

function Engine({ shards, now }: { shards: EngineShard[]; now: number }) {
  const { t } = useTranslation()
  const columns: Column<EngineShard>[] = [
    { key: 'shard', header: t('admin.system.shard'), rowHeader: true, cell: (s) => <span className="num">{s.shard}</span> },
    {
      key: 'state',
      header: t('admin.system.engineState'),
      cell: (s) => {
        const state = engineState(s, now)
        return <StateBadge tone={state === 'running' ? 'good' : 'bad'} label={t(`admin.system.engineStates.${state}`)} />
      },
    },
    { key: 'pending', header: t('admin.system.pendingCommands'), numeric: true, cell: (s) => formatCount(s.pending_commands) },
    { key: 'lag', header: t('admin.system.lag'), numeric: true, cell: (s) => formatAge(s.status.lag_ms ? Number(s.status.lag_ms) / 1000 : null) },
    {
      key: 'batch',
      header: t('admin.system.lastBatch'),
      cell: (s) => {
        const at = msField(s.status, 'last_batch_at')
        return at ? t('admin.system.ago', { age: formatAge(ageSeconds(at, now)) }) : '—'
      },
    },
    { key: 'size', header: t('admin.system.batchSize'), numeric: true, cell: (s) => formatCount(s.status.last_batch_size ? Number(s.status.last_batch_size) : null) },
    { key: 'stream', header: t('admin.system.streamLength'), numeric: true, cell: (s) => formatCount(s.stream_length), hideOnPhone: true },
    { key: 'accounts', header: t('admin.system.accounts'), numeric: true, cell: (s) => formatCount(s.status.accounts ? Number(s.status.accounts) : null), hideOnPhone: true },
    { key: 'positions', header: t('admin.system.openPositions'), numeric: true, cell: (s) => formatCount(s.status.open_positions ? Number(s.status.open_positions) : null), hideOnPhone: true },
  ]
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('admin.system.engine')}</CardTitle>
        <CardDescription>{t('admin.system.engineHint')}</CardDescription>
      </CardHeader>
      <CardContent>
        <DataTable label={t('admin.system.engine')} rows={shards} columns={columns} rowKey={(s) => s.shard} testId={(s) => `shard-${s.shard}`} />
      </CardContent>
    </Card>
  )
}

function Queues({ queues, webhooks }: { queues: QueueDepth[]; webhooks: SystemStatus['webhooks'] }) {
  const { t } = useTranslation()
  const columns: Column<QueueDepth>[] = [
    { key: 'name', header: t('admin.system.queue'), rowHeader: true, cell: (q) => q.name },
    { key: 'queued', header: t('admin.system.queued'), numeric: true, cell: (q) => formatCount(q.queued) },
    { key: 'started', header: t('admin.system.started'), numeric: true, cell: (q) => formatCount(q.started) },
    { key: 'scheduled', header: t('admin.system.scheduled'), numeric: true, cell: (q) => formatCount(q.scheduled) },
    {
      key: 'failed',
      header: t('admin.system.failedJobs'),
      numeric: true,
      cell: (q) =>
        q.failed > 0 ? <StateBadge tone="bad" label={t('admin.system.failedCount', { count: q.failed, formatted: formatCount(q.failed) })} /> : formatCount(0),
    },
  ]
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('admin.system.queues')}</CardTitle>
        <CardDescription>{t('admin.system.queuesHint')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <DataTable label={t('admin.system.queues')} rows={queues} columns={columns} rowKey={(q) => q.name} testId={(q) => `queue-${q.name}`} />
        <div className="grid gap-1.5">
          <h3 className="text-sm font-semibold">{t('admin.system.webhookBacklog')}</h3>
          <DefinitionList
            items={[
              [t('admin.system.pendingDeliveries'), <span className="num" data-testid="pending-deliveries">{formatCount(webhooks.pending_deliveries)}</span>],
              [t('admin.system.undispatched'), <span className="num">{formatCount(webhooks.undispatched_events)}</span>],
            ]}
          />
        </div>
      </CardContent>
    </Card>
  )
}

/** Feed mode and quote ages, engine lag, RQ queues and the webhook backlog, refreshed every few seconds. */
export function SystemPage() {
  const { t } = useTranslation()
  const [auto, setAuto] = useState(true)
  const { data, error, isLoading } = useSystemStatus(auto)
  // Ages are measured against the server's clock (the time it answered), not the browser's.
  const now = data ? Date.parse(data.time) : 0
  return (
    <AdminPage
      title={t('admin.system.title')}
      description={t('admin.system.description')}
      actions={
        <div className="flex items-center gap-2">
          <Switch id="system-auto" checked={auto} onCheckedChange={setAuto} />
          <Label htmlFor="system-auto">{t('admin.system.autoRefresh', { seconds: SYSTEM_REFRESH_MS / 1000 })}</Label>
        </div>
      }
    >
      {data ? (
        <p className="text-sm text-muted-foreground" data-testid="system-updated">
          {t('admin.system.updated', { time: formatDateTime(data.time) })}
        </p>
      ) : null}
      {isLoading ? <LoadingBlock /> : null}
      {/* A failed refresh keeps the last figures on screen, under the error. */}
      {error ? <QueryError error={error} /> : null}
      {data ? (
        <div className="grid gap-4">
          <Feed data={data} now={now} />
          <Engine shards={data.engine} now={now} />
          <Queues queues={data.queues} webhooks={data.webhooks} />
        </div>
      ) : null}
    </AdminPage>
  )
}
