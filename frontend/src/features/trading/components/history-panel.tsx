import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { ChevronLeftIcon, ChevronRightIcon, DownloadIcon } from 'lucide-react'
import { errorMessage } from '@/lib/errors'
import { direction, formatDateTime, formatPrice, formatSigned, formatVolume } from '@/lib/format'
import { useIsPhone } from '@/lib/use-media'
import { cn } from '@/lib/utils'
import type { Account, Instrument, Trade } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Input } from '@/components/ui/input'
import { Label } from '@/components/ui/label'
import { NativeSelect } from '@/components/ui/native-select'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { exportTradesCsv, useTrades, type TradeFilters } from '@/features/trading/api/trading'
import { SideBadge } from '@/features/trading/components/side-badge'

function Profit({ value }: { value: string | null | undefined }) {
  const dir = direction(value)
  return <span className={cn('num', dir === 'up' && 'text-up', dir === 'down' && 'text-down')}>{formatSigned(value)}</span>
}

export function HistoryPanel({ account, instruments }: { account: Account; instruments: Instrument[] }) {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const [filters, setFilters] = useState<TradeFilters>({ page: 1 })
  const { data, isLoading, isFetching, isError } = useTrades(account.id, filters)
  const [exporting, setExporting] = useState(false)
  const digitsOf = (s: string) => instruments.find((i) => i.symbol === s)?.digits ?? 5
  const trades: Trade[] = data?.items ?? []
  const pages = data?.total !== undefined && data.per_page ? Math.max(1, Math.ceil(data.total / data.per_page)) : undefined
  const hasNext = pages !== undefined ? filters.page < pages : false
  const setFilter = (k: keyof TradeFilters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setFilters((f) => ({ ...f, [k]: e.target.value || undefined, page: 1 }))

  async function exportCsv() {
    setExporting(true)
    try {
      await exportTradesCsv(account.id, filters)
    } catch (err) {
      toast.error(errorMessage(t, err))
    } finally {
      setExporting(false)
    }
  }

  return (
    <div className="flex flex-col gap-3">
      <form role="search" aria-label={t('history.filters')} className="flex flex-wrap items-end gap-2" onSubmit={(e) => e.preventDefault()}>
        <div className="grid gap-1">
          <Label htmlFor="history-symbol">{t('history.symbol')}</Label>
          <NativeSelect id="history-symbol" className="w-36" value={filters.symbol ?? ''} onChange={setFilter('symbol')}>
            <option value="">{t('history.allSymbols')}</option>
            {instruments.map((i) => (
              <option key={i.symbol} value={i.symbol}>
                {i.symbol}
              </option>
            ))}
          </NativeSelect>
        </div>
        <div className="grid gap-1">
          <Label htmlFor="history-from">{t('history.from')}</Label>
          <Input id="history-from" type="date" className="w-40" value={filters.from ?? ''} onChange={setFilter('from')} />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="history-to">{t('history.to')}</Label>
          <Input id="history-to" type="date" className="w-40" value={filters.to ?? ''} onChange={setFilter('to')} />
        </div>
        <Button variant="outline" size="sm" className="h-9" onClick={exportCsv} disabled={exporting}>
          <DownloadIcon aria-hidden />
          {t('history.exportCsv')}
        </Button>
      </form>
      {isLoading ? (
        <Skeleton className="h-16" />
      ) : isError ? (
        <p role="alert" className="text-sm text-destructive">{t('history.loadFailed')}</p>
      ) : trades.length === 0 ? (
        <p className="py-6 text-center text-sm text-muted-foreground">{t('history.empty')}</p>
      ) : phone ? (
        <ul aria-label={t('history.title')} className="grid gap-2">
          {trades.map((tr) => (
            <li key={tr.id} className="rounded-lg border p-3 text-sm">
              <div className="flex items-center gap-2">
                <span className="font-semibold">{tr.symbol}</span>
                <SideBadge side={tr.side} />
                <span className="num">{formatVolume(tr.volume)}</span>
                <span className="ml-auto">
                  <Profit value={tr.profit} />
                </span>
              </div>
              <p className="mt-1 text-xs text-muted-foreground">
                {t(`history.entry.${tr.entry === 'out' ? 'out' : 'in'}`)} · <span className="num">{formatPrice(tr.price, digitsOf(tr.symbol))}</span> ·{' '}
                {formatDateTime(tr.executed_at)}
              </p>
            </li>
          ))}
        </ul>
      ) : (
        <Table label={t('history.title')}>
          <TableHeader>
            <TableRow>
              <TableHead>{t('history.time')}</TableHead>
              <TableHead>{t('positions.symbol')}</TableHead>
              <TableHead>{t('positions.side')}</TableHead>
              <TableHead>{t('history.entryLabel')}</TableHead>
              <TableHead className="text-right">{t('positions.volume')}</TableHead>
              <TableHead className="text-right">{t('ticket.price')}</TableHead>
              <TableHead className="text-right">{t('ticket.commission')}</TableHead>
              <TableHead className="text-right">{t('positions.swap')}</TableHead>
              <TableHead className="text-right">{t('positions.pl', { currency: account.currency })}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {trades.map((tr) => (
              <TableRow key={tr.id} data-testid={`trade-${tr.id}`}>
                <TableCell>{formatDateTime(tr.executed_at)}</TableCell>
                <th scope="row" className="px-2 text-left font-medium">
                  {tr.symbol}
                </th>
                <TableCell>
                  <SideBadge side={tr.side} />
                </TableCell>
                <TableCell>{t(`history.entry.${tr.entry === 'out' ? 'out' : 'in'}`)}</TableCell>
                <TableCell className="text-right num">{formatVolume(tr.volume)}</TableCell>
                <TableCell className="text-right num">{formatPrice(tr.price, digitsOf(tr.symbol))}</TableCell>
                <TableCell className="text-right num">{formatSigned(tr.commission ?? '0')}</TableCell>
                <TableCell className="text-right num">{formatSigned(tr.swap ?? '0')}</TableCell>
                <TableCell className="text-right">
                  <Profit value={tr.profit} />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      <nav aria-label={t('history.pagination')} className="flex items-center justify-end gap-2">
        <Button
          variant="outline"
          size="sm"
          disabled={filters.page <= 1 || isFetching}
          onClick={() => setFilters((f) => ({ ...f, page: f.page - 1 }))}
        >
          <ChevronLeftIcon aria-hidden />
          {t('history.previous')}
        </Button>
        <span className="text-sm num" aria-live="polite">
          {pages ? t('history.pageOf', { page: filters.page, pages }) : t('history.page', { page: filters.page })}
        </span>
        <Button
          variant="outline"
          size="sm"
          disabled={!hasNext || isFetching}
          onClick={() => setFilters((f) => ({ ...f, page: f.page + 1 }))}
        >
          {t('history.next')}
          <ChevronRightIcon aria-hidden />
        </Button>
      </nav>
    </div>
  )
}
