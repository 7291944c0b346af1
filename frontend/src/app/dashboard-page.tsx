import { useMemo, useState } from 'react'
import { Link } from 'react-router'
import { useTranslation } from 'react-i18next'
import type { TFunction } from 'i18next'
import { CandlestickChartIcon, ListIcon, BriefcaseIcon } from 'lucide-react'
import { useActiveAccount, useInstrument, useSelectedSymbol, useSymbols } from '@/lib/session'
import { useIsPhone, useMediaQuery } from '@/lib/use-media'
import { useQuoteSubscription } from '@/lib/ws/stream'
import { useQuote } from '@/lib/ws/quote-store'
import { formatPrice } from '@/lib/format'
import { cn } from '@/lib/utils'
import type { Account, Instrument, Position } from '@/lib/types'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Drawer, DrawerContent, DrawerDescription, DrawerHeader, DrawerTitle } from '@/components/ui/drawer'
import { Skeleton } from '@/components/ui/skeleton'
import { Spinner } from '@/components/ui/spinner'
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs'
import { AccountBar } from '@/features/account/components/account-bar'
import { OpenDemoButton } from '@/features/account/components/account-switcher'
import { PriceChart, type ChartLine } from '@/features/chart/components/price-chart'
import { useWatchlist, Watchlist } from '@/features/market/components/watchlist'
import { usePendingOrders, usePositions } from '@/features/trading/api/trading'
import { HistoryPanel } from '@/features/trading/components/history-panel'
import { OrderTicket } from '@/features/trading/components/order-ticket'
import { OrdersPanel } from '@/features/trading/components/orders-panel'
import { PositionsPanel } from '@/features/trading/components/positions-panel'

/** Quotes needed on screen: watchlist, selection, open positions, and the rates that convert P/L. */
function useNeededSymbols(account: Account | undefined, instruments: Instrument[], positions: Position[], selected: string): string[] {
  const { symbols: watch } = useWatchlist()
  return useMemo(() => {
    const known = new Set(instruments.map((i) => i.symbol))
    const out = new Set<string>([...watch, selected, ...positions.map((p) => p.symbol)])
    const ccy = account?.currency ?? 'USD'
    for (const i of instruments) {
      if (!out.has(i.symbol)) continue
      const q = i.quote_currency ?? (i.symbol.length === 6 ? i.symbol.slice(3) : ccy)
      if (q === ccy) continue
      for (const pair of [`${q}${ccy}`, `${ccy}${q}`]) if (known.has(pair)) out.add(pair)
    }
    return [...out].filter((s) => known.has(s))
  }, [watch, selected, positions, instruments, account?.currency])
}

/** Entry, SL and TP lines of the open positions on this symbol (chart coordinates are floats). */
function positionLines(positions: Position[], symbol: string, t: TFunction): ChartLine[] {
  const lines: ChartLine[] = []
  for (const p of positions) {
    if (p.symbol !== symbol || (p.status && p.status !== 'open')) continue
    const side = t(`ticket.side.${p.side}`)
    lines.push({ id: String(p.id), kind: 'entry', price: Number(p.open_price), title: `${side} ${p.volume}` })
    if (p.sl) lines.push({ id: String(p.id), kind: 'sl', price: Number(p.sl), title: t('ticket.slShort') })
    if (p.tp) lines.push({ id: String(p.id), kind: 'tp', price: Number(p.tp), title: t('ticket.tpShort') })
  }
  return lines
}

function BottomTabs({ account, instruments }: { account: Account; instruments: Instrument[] }) {
  const { t } = useTranslation()
  const { data: positions = [] } = usePositions(account.id)
  const { data: orders = [] } = usePendingOrders(account.id)
  const open = positions.filter((p) => !p.status || p.status === 'open')
  return (
    <Tabs defaultValue="positions" className="flex min-h-0 flex-col gap-2">
      <TabsList className="w-full sm:w-fit">
        <TabsTrigger value="positions">
          {t('positions.title')} <span className="num text-xs">({open.length})</span>
        </TabsTrigger>
        <TabsTrigger value="orders">
          {t('orders.title')} <span className="num text-xs">({orders.length})</span>
        </TabsTrigger>
        <TabsTrigger value="history">{t('history.title')}</TabsTrigger>
      </TabsList>
      <TabsContent value="positions">
        <PositionsPanel account={account} instruments={instruments} />
      </TabsContent>
      <TabsContent value="orders">
        <OrdersPanel account={account} instruments={instruments} />
      </TabsContent>
      <TabsContent value="history">
        <HistoryPanel account={account} instruments={instruments} />
      </TabsContent>
    </Tabs>
  )
}

function PhoneTradeBar({ instrument, onTrade }: { instrument: Instrument; onTrade: (side: 'buy' | 'sell') => void }) {
  const { t } = useTranslation()
  const q = useQuote(instrument.symbol)
  return (
    <div className="sticky bottom-14 z-20 grid grid-cols-2 gap-2 border-t bg-background/95 p-2 backdrop-blur">
      <Button variant="sell" size="lg" className="h-12 flex-col gap-0" onClick={() => onTrade('sell')}>
        <span className="text-xs uppercase">{t('ticket.side.sell')}</span>
        <span className="num">{formatPrice(q?.bid, instrument.digits)}</span>
      </Button>
      <Button variant="buy" size="lg" className="h-12 flex-col gap-0" onClick={() => onTrade('buy')}>
        <span className="text-xs uppercase">{t('ticket.side.buy')}</span>
        <span className="num">{formatPrice(q?.ask, instrument.digits)}</span>
      </Button>
    </div>
  )
}

/** A live account with no money yet: say how to get started (deposit, or practise on demo). */
function EmptyAccountHint({ account, accounts }: { account: Account; accounts: Account[] }) {
  const { t } = useTranslation()
  if (account.type !== 'live' || Number(account.balance) > 0 || Number(account.credit) > 0) return null
  const hasDemo = accounts.some((a) => a.type === 'demo')
  return (
    <div role="note" className="flex flex-wrap items-center gap-2 border-b bg-muted/60 px-3 py-2 text-sm">
      <span className="flex-1">{t('dashboard.emptyLive')}</span>
      <Button asChild size="sm">
        <Link to="/funds">{t('dashboard.deposit')}</Link>
      </Button>
      {hasDemo ? null : <OpenDemoButton />}
    </div>
  )
}

type PhoneTab = 'markets' | 'chart' | 'portfolio'

export function DashboardPage() {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const wide = useMediaQuery('(min-width: 1024px)')
  const { account, accounts, isLoading } = useActiveAccount()
  const { data: instruments = [], isLoading: symbolsLoading } = useSymbols()
  const { symbols: watch } = useWatchlist()
  const picked = useSelectedSymbol()
  // Until the user picks a symbol: the first watchlist symbol whose market is open.
  const symbol = picked ?? watch.find((s) => instruments.find((i) => i.symbol === s)?.tradable) ?? watch[0] ?? 'EURUSD'
  const instrument = useInstrument(symbol) ?? instruments[0]
  const { data: positions = [] } = usePositions(account?.id ?? null)
  const needed = useNeededSymbols(account, instruments, positions, instrument?.symbol ?? symbol)
  useQuoteSubscription(needed)
  const lines = useMemo(() => (instrument ? positionLines(positions, instrument.symbol, t) : []), [positions, instrument, t])
  const [phoneTab, setPhoneTab] = useState<PhoneTab>('chart')
  const [ticketSide, setTicketSide] = useState<'buy' | 'sell' | null>(null)

  if (isLoading || symbolsLoading) {
    return (
      <div className="grid gap-3 p-3">
        <Skeleton className="h-8" />
        <Skeleton className="h-96" />
      </div>
    )
  }
  if (!account) {
    return (
      <div className="mx-auto grid max-w-md gap-3 p-6">
        <Alert>
          <Spinner /> {accounts.length === 0 ? t('dashboard.preparing') : t('dashboard.noAccount')}
        </Alert>
      </div>
    )
  }
  if (!instrument) return <Alert className="m-6">{t('dashboard.noSymbols')}</Alert>

  const chart = <PriceChart key="chart" symbol={instrument.symbol} digits={instrument.digits} lines={lines} className="h-full" />

  if (phone) {
    const tabs: { id: PhoneTab; label: string; icon: typeof ListIcon }[] = [
      { id: 'markets', label: t('dashboard.tabs.markets'), icon: ListIcon },
      { id: 'chart', label: t('dashboard.tabs.chart'), icon: CandlestickChartIcon },
      { id: 'portfolio', label: t('dashboard.tabs.portfolio'), icon: BriefcaseIcon },
    ]
    return (
      <div className="flex min-h-0 flex-1 flex-col">
        <div className="border-b">
          <AccountBar account={account} />
        </div>
        <EmptyAccountHint account={account} accounts={accounts} />
        <div className="flex-1 pb-2">
          {phoneTab === 'markets' ? <Watchlist current={instrument.symbol} onPick={() => setPhoneTab('chart')} /> : null}
          {phoneTab === 'chart' ? (
            <div className="flex h-[calc(100dvh-15rem)] min-h-[320px] flex-col">
              <div className="flex items-baseline gap-2 px-3 pt-2">
                <h1 className="text-base font-semibold">{instrument.symbol}</h1>
                <span className="truncate text-xs text-muted-foreground">{instrument.description}</span>
              </div>
              {chart}
            </div>
          ) : null}
          {phoneTab === 'portfolio' ? (
            <div className="p-2">
              <BottomTabs account={account} instruments={instruments} />
            </div>
          ) : null}
        </div>
        {phoneTab !== 'portfolio' ? <PhoneTradeBar instrument={instrument} onTrade={setTicketSide} /> : null}
        <nav aria-label={t('dashboard.sections')} className="sticky bottom-0 z-20 grid h-14 grid-cols-3 border-t bg-background">
          {tabs.map(({ id, label, icon: Icon }) => (
            <button
              key={id}
              type="button"
              aria-current={phoneTab === id ? 'page' : undefined}
              onClick={() => setPhoneTab(id)}
              className={cn(
                'flex flex-col items-center justify-center gap-0.5 text-xs font-medium focus-visible:outline-none focus-visible:ring-[3px] focus-visible:ring-inset focus-visible:ring-ring/60',
                phoneTab === id ? 'text-primary' : 'text-muted-foreground',
              )}
            >
              <Icon aria-hidden className="size-5" />
              {label}
            </button>
          ))}
        </nav>
        <Drawer open={ticketSide !== null} onOpenChange={(o) => !o && setTicketSide(null)}>
          <DrawerContent>
            <DrawerHeader>
              <DrawerTitle>{t('ticket.title')}</DrawerTitle>
              <DrawerDescription className="sr-only">{t('ticket.drawerDescription')}</DrawerDescription>
            </DrawerHeader>
            <div className="overflow-y-auto p-4">
              {ticketSide ? (
                <OrderTicket key={`${instrument.symbol}-${ticketSide}`} instrument={instrument} account={account} initialSide={ticketSide} onPlaced={() => setTicketSide(null)} />
              ) : null}
            </div>
          </DrawerContent>
        </Drawer>
      </div>
    )
  }

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="border-b">
        <AccountBar account={account} />
      </div>
      <EmptyAccountHint account={account} accounts={accounts} />
      <div className={cn('grid min-h-0 gap-px bg-border', wide ? 'grid-cols-[19rem_minmax(0,1fr)_20rem]' : 'grid-cols-[19rem_minmax(0,1fr)]')}>
        <aside className="max-h-[520px] overflow-y-auto bg-background" aria-label={t('watchlist.title')}>
          <Watchlist current={instrument.symbol} />
        </aside>
        <div className="h-[520px] bg-background">{chart}</div>
        {wide ? (
          <aside aria-label={t('ticket.title')} className="max-h-[520px] overflow-y-auto bg-background p-3">
            <OrderTicket key={instrument.symbol} instrument={instrument} account={account} />
          </aside>
        ) : null}
      </div>
      <div className={cn('grid gap-3 border-t p-3', !wide && 'grid-cols-[20rem_minmax(0,1fr)]')}>
        {!wide ? (
          <aside aria-label={t('ticket.title')} className="rounded-lg border p-3">
            <OrderTicket key={instrument.symbol} instrument={instrument} account={account} />
          </aside>
        ) : null}
        <BottomTabs account={account} instruments={instruments} />
      </div>
    </div>
  )
}
