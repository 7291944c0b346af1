import { useTranslation } from 'react-i18next'
import { direction, formatMoney, formatPercent, formatSigned } from '@/lib/format'
import { cn } from '@/lib/utils'
import type { Account } from '@/lib/types'
import { Badge } from '@/components/ui/badge'

export interface LiveFigures {
  equity: string
  free_margin: string
  margin_level: string | null
  floating_pl: string
}

/** Balance, equity, margin, free margin, margin level and floating P/L of the active account. */
export function AccountBar({ account, live }: { account: Account; live?: LiveFigures }) {
  const { t } = useTranslation()
  const c = account.currency
  const figures = { ...account, ...(live ?? {}) }
  const pl = direction(figures.floating_pl)
  const level = figures.margin_level ? Number(figures.margin_level) : null
  const danger = level !== null && level > 0 && level < 100
  const items: { key: string; label: string; value: React.ReactNode; testId: string }[] = [
    { key: 'balance', label: t('account.balance'), value: formatMoney(figures.balance, c), testId: 'acct-balance' },
    { key: 'equity', label: t('account.equity'), value: formatMoney(figures.equity, c), testId: 'acct-equity' },
    { key: 'margin', label: t('account.margin'), value: formatMoney(figures.margin, c), testId: 'acct-margin' },
    { key: 'free', label: t('account.freeMargin'), value: formatMoney(figures.free_margin, c), testId: 'acct-free-margin' },
    {
      key: 'level',
      label: t('account.marginLevel'),
      value: (
        <span className={cn(danger && 'text-down')}>
          {figures.margin_level && Number(figures.margin) > 0 ? formatPercent(figures.margin_level) : '—'}
          {danger ? <span className="sr-only"> {t('account.marginLow')}</span> : null}
        </span>
      ),
      testId: 'acct-margin-level',
    },
    {
      key: 'pl',
      label: t('account.floatingPl'),
      value: <span className={cn(pl === 'up' && 'text-up', pl === 'down' && 'text-down')}>{formatSigned(figures.floating_pl)}</span>,
      testId: 'acct-pl',
    },
  ]
  if (Number(account.credit) > 0) {
    items.splice(1, 0, { key: 'credit', label: t('account.credit'), value: formatMoney(account.credit, c), testId: 'acct-credit' })
  }
  return (
    <section aria-label={t('account.summary')} className="flex items-center gap-x-5 gap-y-1 px-3 py-1.5 text-xs">
      <Badge variant={account.type === 'live' ? 'default' : 'secondary'} className="uppercase max-sm:hidden">
        {t(`account.type.${account.type}`)}
      </Badge>
      <dl className="grid flex-1 grid-cols-2 gap-x-4 gap-y-0.5 sm:flex sm:flex-wrap sm:items-center sm:gap-x-5 sm:gap-y-1">
        {items.map((i) => (
          <div key={i.key} className="flex items-baseline justify-between gap-1.5 whitespace-nowrap sm:justify-start">
            <dt className="text-muted-foreground">{i.label}</dt>
            <dd className="num font-medium" data-testid={i.testId}>
              {i.value}
            </dd>
          </div>
        ))}
      </dl>
      {account.trading_rights !== 'full' ? (
        <Badge variant="warning">{t(`account.rights.${account.trading_rights === 'close_only' ? 'close_only' : 'disabled'}`)}</Badge>
      ) : null}
    </section>
  )
}
