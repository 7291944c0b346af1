import { useTranslation } from 'react-i18next'
import { RefreshCwIcon, ShieldAlertIcon, ShieldCheckIcon } from 'lucide-react'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Skeleton } from '@/components/ui/skeleton'
import { useChainState } from '@/features/admin/api/admin'
import { QueryError } from '@/features/admin/components/admin-ui'
import { chainReason, formatCount } from '@/features/admin/lib/format-admin'

/** The audit hash chain's state, prominent: verified, or the row where it breaks and why. */
export function ChainStateBanner({ onShowRow }: { onShowRow: (id: number) => void }) {
  const { t } = useTranslation()
  const { data, error, isLoading, isFetching, refetch } = useChainState()
  if (isLoading) return <Skeleton className="h-14" />
  if (error || !data) return <QueryError error={error} />
  const again = (
    <Button variant="outline" size="sm" onClick={() => void refetch()} disabled={isFetching}>
      <RefreshCwIcon aria-hidden className={isFetching ? 'animate-spin' : undefined} />
      {t('admin.chain.checkAgain')}
    </Button>
  )
  if (data.status === 'verified') {
    return (
      <Alert variant="success" data-testid="chain-state" data-status="verified" className="flex flex-wrap items-center gap-3">
        <ShieldCheckIcon aria-hidden className="size-5 shrink-0 text-up" />
        <div className="mr-auto grid gap-0.5">
          <strong className="font-semibold">{t('admin.chain.verified')}</strong>
          <span className="text-muted-foreground">{t('admin.chain.checked', { count: data.checked, formatted: formatCount(data.checked) })}</span>
        </div>
        {again}
      </Alert>
    )
  }
  const reason = chainReason(data.reason)
  return (
    <Alert variant="destructive" data-testid="chain-state" data-status="broken" className="flex flex-wrap items-center gap-3 border-2">
      <ShieldAlertIcon aria-hidden className="size-5 shrink-0" />
      <div className="mr-auto grid gap-0.5">
        <strong className="font-semibold">
          {data.broken_at !== null ? t('admin.chain.brokenAt', { row: data.broken_at }) : t('admin.chain.broken')}
        </strong>
        <span className="text-foreground">
          {reason ? t(`admin.chain.reasons.${reason}`) : (data.reason ?? '')}
          {' '}
          {t('admin.chain.checkedBefore', { count: data.checked, formatted: formatCount(data.checked) })}
        </span>
      </div>
      {data.broken_at !== null ? (
        <Button size="sm" variant="destructive" onClick={() => onShowRow(data.broken_at!)}>
          {t('admin.chain.showRow', { row: data.broken_at })}
        </Button>
      ) : null}
      {again}
    </Alert>
  )
}
