import { useState } from 'react'
import { Link, useParams } from 'react-router'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { ArrowLeftIcon, HistoryIcon, LogOutIcon, ScrollTextIcon, UserCheckIcon, UserXIcon } from 'lucide-react'
import { direction, formatDateTime, formatMoney, formatPercent, formatSigned } from '@/lib/format'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { useEndSessions, useSetUserStatus, useUserDetail } from '@/features/admin/api/admin'
import type { AdminAccount, AdminKycDocument, AdminMoneyRequest, AdminSession } from '@/features/admin/api/types'
import {
  ConfirmDialog,
  DefinitionList,
  EmptyState,
  LoadingBlock,
  QueryError,
  StateBadge,
} from '@/features/admin/components/admin-ui'
import { DataTable, type Column } from '@/features/admin/components/data-table'
import { UserStatusBadge } from '@/features/admin/components/users-page'
import { formatBytes } from '@/features/admin/lib/format-admin'

function Signed({ value }: { value: string | undefined }) {
  const { t } = useTranslation()
  if (!value) return <span>—</span>
  const dir = direction(value)
  return (
    <span className={cn('num', dir === 'up' && 'text-up', dir === 'down' && 'text-down')}>
      {formatSigned(value)}
      <span className="sr-only"> ({t(`common.direction.${dir}`)})</span>
    </span>
  )
}

function Section({ title, description, children }: { title: string; description?: string; children: React.ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        {description ? <CardDescription>{description}</CardDescription> : null}
      </CardHeader>
      <CardContent>{children}</CardContent>
    </Card>
  )
}

function AccountsTable({ accounts }: { accounts: AdminAccount[] }) {
  const { t } = useTranslation()
  const money = (a: AdminAccount, v: string | null | undefined) => formatMoney(v || null, a.currency)
  const columns: Column<AdminAccount>[] = [
    { key: 'number', header: t('admin.user.account'), rowHeader: true, cell: (a) => <span className="num">{a.number}</span> },
    { key: 'type', header: t('admin.user.accountType'), cell: (a) => t(`account.type.${a.type}` as 'account.type.live', { defaultValue: a.type }) },
    { key: 'balance', header: t('admin.user.balance'), numeric: true, cell: (a) => money(a, a.live.balance ?? a.balance) },
    { key: 'credit', header: t('admin.user.credit'), numeric: true, cell: (a) => money(a, a.live.credit ?? a.credit), hideOnPhone: true },
    { key: 'equity', header: t('admin.user.equity'), numeric: true, cell: (a) => money(a, a.live.equity) },
    { key: 'margin', header: t('admin.user.margin'), numeric: true, cell: (a) => money(a, a.live.margin) },
    { key: 'free', header: t('admin.user.freeMargin'), numeric: true, cell: (a) => money(a, a.live.free_margin) },
    { key: 'level', header: t('admin.user.marginLevel'), numeric: true, cell: (a) => formatPercent(a.live.margin_level || null) },
    { key: 'pl', header: t('admin.user.floatingPl'), numeric: true, cell: (a) => <Signed value={a.live.floating_pl} /> },
    { key: 'leverage', header: t('admin.user.leverage'), numeric: true, cell: (a) => `1:${a.leverage}` },
    {
      key: 'rights',
      header: t('admin.user.tradingRights'),
      cell: (a) => t(`admin.user.rights.${a.trading_rights}` as 'admin.user.rights.full', { defaultValue: a.trading_rights }),
    },
  ]
  if (!accounts.length) return <EmptyState>{t('admin.user.noAccounts')}</EmptyState>
  return <DataTable label={t('admin.user.accounts')} rows={accounts} columns={columns} rowKey={(a) => a.id} testId={(a) => `account-${a.number}`} />
}

function SessionsTable({ sessions }: { sessions: AdminSession[] }) {
  const { t } = useTranslation()
  const columns: Column<AdminSession>[] = [
    { key: 'created', header: t('admin.user.sessionStarted'), rowHeader: true, cell: (s) => formatDateTime(s.created_at) },
    { key: 'seen', header: t('admin.user.lastSeen'), cell: (s) => formatDateTime(s.last_seen_at) },
    { key: 'ip', header: t('admin.audit.ip'), cell: (s) => <span className="num">{s.ip ?? '—'}</span> },
    {
      key: 'ua',
      header: t('admin.user.device'),
      cell: (s) => (
        <span className="block max-w-64 truncate" title={s.user_agent ?? undefined}>
          {s.user_agent ?? '—'}
        </span>
      ),
    },
    {
      key: 'state',
      header: t('admin.user.sessionState'),
      cell: (s) =>
        s.active ? (
          <StateBadge tone="good" label={t('admin.user.sessionActive')} />
        ) : (
          <StateBadge tone="neutral" label={s.revoked_reason ? t('admin.user.sessionEndedWhy', { reason: s.revoked_reason }) : t('admin.user.sessionEnded')} />
        ),
    },
    { key: 'imp', header: t('admin.user.impersonatedBy'), cell: (s) => s.impersonator_id ?? '—' },
  ]
  if (!sessions.length) return <EmptyState>{t('admin.user.noSessions')}</EmptyState>
  return <DataTable label={t('admin.user.sessions')} rows={sessions} columns={columns} rowKey={(s) => s.id} />
}

function KycTable({ documents }: { documents: AdminKycDocument[] }) {
  const { t } = useTranslation()
  const columns: Column<AdminKycDocument>[] = [
    { key: 'type', header: t('admin.user.docType'), rowHeader: true, cell: (d) => t(`kyc.types.${d.type}` as 'kyc.types.passport', { defaultValue: d.type }) },
    { key: 'file', header: t('admin.user.file'), cell: (d) => <span className="break-all">{d.filename}</span> },
    { key: 'size', header: t('admin.user.size'), numeric: true, cell: (d) => formatBytes(d.size) },
    { key: 'status', header: t('admin.users.statusLabel'), cell: (d) => <MoneyStatus status={d.status} /> },
    { key: 'uploaded', header: t('admin.user.uploaded'), cell: (d) => formatDateTime(d.created_at) },
    { key: 'reason', header: t('admin.user.note'), cell: (d) => d.reason ?? '—' },
  ]
  if (!documents.length) return <EmptyState>{t('admin.user.noDocuments')}</EmptyState>
  return <DataTable label={t('admin.user.kyc')} rows={documents} columns={columns} rowKey={(d) => d.id} />
}

function MoneyStatus({ status }: { status: string }) {
  const { t } = useTranslation()
  const tone = status === 'approved' || status === 'completed' ? 'good' : status === 'declined' || status === 'rejected' ? 'bad' : status === 'pending' ? 'warn' : 'neutral'
  return <StateBadge tone={tone} label={t(`status.${status}` as 'status.pending', { defaultValue: status })} />
}

function MoneyTable({ rows, label, accounts }: { rows: AdminMoneyRequest[]; label: string; accounts: AdminAccount[] }) {
  const { t } = useTranslation()
  const numberOf = (id: number) => accounts.find((a) => a.id === id)?.number ?? String(id)
  const columns: Column<AdminMoneyRequest>[] = [
    { key: 'created', header: t('admin.user.requested'), rowHeader: true, cell: (r) => formatDateTime(r.created_at) },
    { key: 'account', header: t('admin.user.account'), cell: (r) => <span className="num">{numberOf(r.account_id)}</span> },
    { key: 'method', header: t('admin.user.method'), cell: (r) => t(`funds.methods.${r.method}` as 'funds.methods.card', { defaultValue: r.method }) },
    { key: 'amount', header: t('admin.user.amount'), numeric: true, cell: (r) => formatMoney(r.amount, r.currency) },
    { key: 'status', header: t('admin.users.statusLabel'), cell: (r) => <MoneyStatus status={r.status} /> },
    { key: 'decided', header: t('admin.user.decided'), cell: (r) => formatDateTime(r.decided_at) },
    { key: 'reason', header: t('admin.user.note'), cell: (r) => r.reason ?? '—' },
  ]
  if (!rows.length) return <EmptyState>{t('admin.user.noRequests')}</EmptyState>
  return <DataTable label={label} rows={rows} columns={columns} rowKey={(r) => r.id} />
}

/** One user: profile, accounts with live figures, sessions, KYC, deposits and withdrawals; disable/enable, end sessions. */
export function UserDetailPage() {
  const { t } = useTranslation()
  const id = Number(useParams().userId)
  const { data, error, isLoading } = useUserDetail(id)
  const setStatus = useSetUserStatus(id)
  const endSessions = useEndSessions(id)
  const [dialog, setDialog] = useState<'status' | 'sessions' | null>(null)

  const back = (
    <Link to="/admin/users" className="inline-flex w-fit items-center gap-1 text-sm text-primary underline-offset-4 hover:underline">
      <ArrowLeftIcon aria-hidden className="size-4" />
      {t('admin.user.back')}
    </Link>
  )
  if (!Number.isInteger(id) || id < 1) return <EmptyState>{t('errors.not_found')}</EmptyState>
  if (isLoading) return <LoadingBlock />
  if (error || !data)
    return (
      <div className="grid gap-3">
        {back}
        <QueryError error={error} />
      </div>
    )

  const { user } = data
  const disabling = user.status === 'active'
  const isAdmin = user.role === 'admin'
  const activeSessions = data.sessions.filter((s) => s.active).length
  const name = `${user.first_name} ${user.last_name}`.trim() || user.email

  return (
    <section className="grid min-w-0 gap-4 [&>*]:min-w-0" aria-labelledby="user-title">
      {back}
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="grid gap-1">
          <h1 id="user-title" className="text-xl font-semibold">
            {name}
          </h1>
          <p className="text-sm text-muted-foreground">{user.email}</p>
          <div className="flex flex-wrap gap-1.5">
            <UserStatusBadge status={user.status} />
            <StateBadge tone="neutral" label={t(`admin.users.roles.${user.role}` as 'admin.users.roles.client', { defaultValue: user.role })} />
            <StateBadge tone={user.totp_enabled ? 'good' : 'neutral'} label={user.totp_enabled ? t('admin.user.twoFactorOn') : t('admin.user.twoFactorOff')} />
          </div>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button asChild variant="outline">
            <Link to={`/admin/audit?actor=user%3A${user.id}`}>
              <ScrollTextIcon aria-hidden />
              {t('admin.user.auditTrail')}
            </Link>
          </Button>
          <Button asChild variant="outline">
            <Link to={`/admin/impersonations?user_id=${user.id}`}>
              <HistoryIcon aria-hidden />
              {t('admin.user.impersonations')}
            </Link>
          </Button>
          <Button variant="outline" onClick={() => setDialog('sessions')} disabled={activeSessions === 0}>
            <LogOutIcon aria-hidden />
            {t('admin.user.endSessions')}
          </Button>
          {isAdmin ? null : (
            <Button variant={disabling ? 'destructive' : 'default'} onClick={() => setDialog('status')}>
              {disabling ? <UserXIcon aria-hidden /> : <UserCheckIcon aria-hidden />}
              {disabling ? t('admin.user.disable') : t('admin.user.enable')}
            </Button>
          )}
        </div>
      </div>
      {isAdmin ? <p className="text-sm text-muted-foreground">{t('admin.user.adminNote')}</p> : null}

      <Section title={t('admin.user.profile')}>
        <DefinitionList
          items={[
            [t('admin.users.id'), <span className="num">{user.id}</span>],
            [t('admin.users.email'), user.email],
            [t('admin.user.country'), user.country],
            [t('admin.user.externalId'), user.external_id],
            [t('admin.users.verified'), user.email_verified ? t('admin.common.yes') : t('admin.common.no')],
            [t('admin.users.created'), formatDateTime(user.created_at)],
          ]}
        />
      </Section>
      <Section title={t('admin.user.accounts')} description={t('admin.user.accountsHint')}>
        <AccountsTable accounts={data.accounts} />
      </Section>
      <Section title={t('admin.user.sessions')} description={t('admin.user.activeSessions', { count: activeSessions })}>
        <SessionsTable sessions={data.sessions} />
      </Section>
      <Section title={t('admin.user.kyc')}>
        <KycTable documents={data.kyc_documents} />
      </Section>
      <Section title={t('admin.user.deposits')}>
        <MoneyTable rows={data.deposits} label={t('admin.user.deposits')} accounts={data.accounts} />
      </Section>
      <Section title={t('admin.user.withdrawals')}>
        <MoneyTable rows={data.withdrawals} label={t('admin.user.withdrawals')} accounts={data.accounts} />
      </Section>

      <ConfirmDialog
        open={dialog === 'status'}
        onOpenChange={(open) => setDialog(open ? 'status' : null)}
        title={disabling ? t('admin.user.disableTitle', { email: user.email }) : t('admin.user.enableTitle', { email: user.email })}
        description={disabling ? t('admin.user.disableText') : t('admin.user.enableText')}
        confirmLabel={disabling ? t('admin.user.disable') : t('admin.user.enable')}
        destructive={disabling}
        withReason
        onConfirm={async (reason) => {
          await setStatus.mutateAsync({ status: disabling ? 'disabled' : 'active', reason })
          toast.success(disabling ? t('admin.user.disabled', { email: user.email }) : t('admin.user.enabled', { email: user.email }))
        }}
      />
      <ConfirmDialog
        open={dialog === 'sessions'}
        onOpenChange={(open) => setDialog(open ? 'sessions' : null)}
        title={t('admin.user.endSessionsTitle', { email: user.email })}
        description={t('admin.user.endSessionsText', { count: activeSessions })}
        confirmLabel={t('admin.user.endSessions')}
        destructive
        onConfirm={async () => {
          const result = await endSessions.mutateAsync()
          toast.success(t('admin.user.sessionsEnded', { count: result.ended }))
        }}
      />
    </section>
  )
}
