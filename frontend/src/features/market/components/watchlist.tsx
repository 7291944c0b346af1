import { memo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { ArrowDownIcon, ArrowUpIcon, PlusIcon, XIcon } from 'lucide-react'
import { formatPrice } from '@/lib/format'
import { selectSymbol, useMe, useSelectedSymbol, useSymbols, useUpdatePreferences } from '@/lib/session'
import { useQuote } from '@/lib/ws/quote-store'
import { cn } from '@/lib/utils'
import type { Instrument } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Skeleton } from '@/components/ui/skeleton'
import { SymbolSearch } from '@/features/market/components/symbol-search'

export const DEFAULT_WATCHLIST = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD', 'BTCUSD']

/** The user's watchlist: saved in their preferences, defaults to the majors. */
export function useWatchlist(): { symbols: string[]; save: (symbols: string[]) => void } {
  const { data: me } = useMe()
  const { data: instruments } = useSymbols()
  const update = useUpdatePreferences()
  const known = new Set(instruments?.map((i) => i.symbol) ?? [])
  const stored = me?.preferences?.watchlist
  const base = stored ?? DEFAULT_WATCHLIST
  const symbols = instruments ? base.filter((s) => known.has(s)) : base
  return { symbols, save: (next) => update.mutate({ watchlist: next }) }
}

const Row = memo(function Row({
  instrument,
  selected,
  onSelect,
  onRemove,
}: {
  instrument: Instrument
  selected: boolean
  onSelect: () => void
  onRemove: () => void
}) {
  const { t } = useTranslation()
  const q = useQuote(instrument.symbol)
  const d = instrument.digits
  return (
    <li
      className={cn('group flex items-center gap-0.5 rounded-md pr-1', selected ? 'bg-accent' : 'hover:bg-muted/70')}
      data-testid={`watch-${instrument.symbol}`}
    >
      <button
        type="button"
        aria-current={selected ? 'true' : undefined}
        onClick={onSelect}
        className="flex min-w-0 flex-1 items-center gap-2 rounded-md px-2 py-1.5 text-left focus-visible:outline-none focus-visible:ring-[3px] focus-visible:ring-ring/60"
      >
        <span className="min-w-[4.5rem] flex-1">
          <span className="flex items-center gap-1 text-sm font-semibold">
            {instrument.symbol}
            {q?.dir === 'up' ? (
              <ArrowUpIcon aria-hidden className="size-3 text-up" />
            ) : q?.dir === 'down' ? (
              <ArrowDownIcon aria-hidden className="size-3 text-down" />
            ) : null}
          </span>
          <span className="block truncate text-xs text-muted-foreground">
            {instrument.tradable ? instrument.description : t('watchlist.closed')}
          </span>
        </span>
        <span className="w-[5.25rem] text-right num text-sm" data-testid={`bid-${instrument.symbol}`}>
          <span className="sr-only">{t('chart.bid')} </span>
          {formatPrice(q?.bid, d)}
        </span>
        <span className="w-[5.25rem] text-right num text-sm">
          <span className="sr-only">{t('chart.ask')} </span>
          {formatPrice(q?.ask, d)}
        </span>
      </button>
      <Button
        variant="ghost"
        size="icon-sm"
        className="opacity-70 group-hover:opacity-100 focus-visible:opacity-100"
        aria-label={t('watchlist.remove', { symbol: instrument.symbol })}
        onClick={onRemove}
      >
        <XIcon aria-hidden />
      </Button>
    </li>
  )
})

export function Watchlist({ onPick, current }: { onPick?: (symbol: string) => void; current?: string }) {
  const { t } = useTranslation()
  const { data: instruments, isLoading } = useSymbols()
  const { symbols, save } = useWatchlist()
  const selected = useSelectedSymbol()
  const [searchOpen, setSearchOpen] = useState(false)
  const bySymbol = new Map(instruments?.map((i) => [i.symbol, i]) ?? [])

  return (
    <section aria-labelledby="watchlist-title" className="flex min-h-0 flex-col">
      <div className="flex items-center justify-between px-2 py-1.5">
        <h2 id="watchlist-title" className="text-sm font-semibold">
          {t('watchlist.title')}
        </h2>
        <Button size="sm" variant="outline" onClick={() => setSearchOpen(true)}>
          <PlusIcon aria-hidden />
          {t('watchlist.add')}
        </Button>
      </div>
      {isLoading ? (
        <div className="grid gap-2 p-2">
          <Skeleton className="h-10" />
          <Skeleton className="h-10" />
          <Skeleton className="h-10" />
        </div>
      ) : symbols.length === 0 ? (
        <p className="p-4 text-center text-sm text-muted-foreground">{t('watchlist.empty')}</p>
      ) : (
        <>
        <div aria-hidden className="flex gap-2 px-3 pb-1 text-[11px] uppercase text-muted-foreground">
          <span className="flex-1">{t('watchlist.symbol')}</span>
          <span className="w-[5.25rem] text-right">{t('chart.bid')}</span>
          <span className="w-[5.25rem] text-right">{t('chart.ask')}</span>
          <span className="w-8" />
        </div>
        <ul aria-label={t('watchlist.title')} className="flex flex-col gap-0.5 overflow-y-auto px-1 pb-2">
          {symbols.map((s) => {
            const inst = bySymbol.get(s)
            if (!inst) return null
            return (
              <Row
                key={s}
                instrument={inst}
                selected={s === (selected ?? current)}
                onSelect={() => {
                  selectSymbol(s)
                  onPick?.(s)
                }}
                onRemove={() => save(symbols.filter((x) => x !== s))}
              />
            )
          })}
        </ul>
        </>
      )}
      <SymbolSearch
        open={searchOpen}
        onOpenChange={setSearchOpen}
        instruments={instruments ?? []}
        watchlist={symbols}
        onAdd={(s) => save([...symbols, s])}
        onSelect={(s) => {
          selectSymbol(s)
          onPick?.(s)
        }}
      />
    </section>
  )
}
