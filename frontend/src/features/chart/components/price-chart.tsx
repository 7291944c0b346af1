import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import {
  CandlestickSeries,
  createChart,
  LineStyle,
  type AutoscaleInfo,
  type AutoscaleInfoProvider,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts'
import { quotesStore } from '@/lib/ws/quote-store'
import { useTheme } from '@/lib/theme'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import { Skeleton } from '@/components/ui/skeleton'
import { useCandles } from '@/features/chart/api/candles'
import { applyTick, INTERVALS, toBars, widenRange, type Bar, type Interval } from '@/features/chart/lib/aggregate'
import { PALETTES } from '@/features/chart/lib/palette'

export interface ChartLine {
  id: string
  price: number
  kind: 'entry' | 'tp' | 'sl'
  title: string
}

interface Props {
  symbol: string
  digits: number
  lines: ChartLine[]
  className?: string
}

function readInterval(): Interval {
  try {
    const v = localStorage.getItem('chartInterval')
    return (INTERVALS as readonly string[]).includes(v ?? '') ? (v as Interval) : '1m'
  } catch {
    return '1m'
  }
}

/** Candles with live ticks, bid/ask lines and the lines of open positions (entry, TP, SL). */
export function PriceChart({ symbol, digits, lines, className }: Props) {
  const { t } = useTranslation()
  const { resolved } = useTheme()
  const [interval, setIntervalState] = useState<Interval>(readInterval)
  const container = useRef<HTMLDivElement>(null)
  const chartRef = useRef<IChartApi | null>(null)
  const seriesRef = useRef<ISeriesApi<'Candlestick'> | null>(null)
  const lastBar = useRef<Bar | null>(null)
  const bidLine = useRef<IPriceLine | null>(null)
  const askLine = useRef<IPriceLine | null>(null)
  const posLines = useRef<Map<string, IPriceLine>>(new Map())
  const extraPrices = useRef<number[]>([])
  const candles = useCandles(symbol, interval)

  function changeInterval(next: Interval) {
    setIntervalState(next)
    try {
      localStorage.setItem('chartInterval', next)
    } catch {
      /* not remembered */
    }
  }

  // Create the chart once; theme, data and lines are applied by the effects below.
  useEffect(() => {
    const el = container.current
    if (!el) return
    const chart = createChart(el, {
      autoSize: true,
      timeScale: { timeVisible: true, secondsVisible: false },
      handleScroll: { vertTouchDrag: false },
      localization: { locale: navigator.language },
    })
    const series = chart.addSeries(CandlestickSeries, {
      lastValueVisible: false,
      priceLineVisible: false,
      // Keep position lines (TP/SL far from the price) in view.
      autoscaleInfoProvider: ((original: () => AutoscaleInfo | null) => {
        const res = original()
        if (!res) return res
        return { ...res, priceRange: widenRange(res.priceRange, extraPrices.current) }
      }) as AutoscaleInfoProvider,
    })
    chartRef.current = chart
    seriesRef.current = series
    bidLine.current = series.createPriceLine({ price: 0, title: t('chart.bid'), lineStyle: LineStyle.Solid, lineWidth: 1, lineVisible: false, axisLabelVisible: false })
    askLine.current = series.createPriceLine({ price: 0, title: t('chart.ask'), lineStyle: LineStyle.Solid, lineWidth: 1, lineVisible: false, axisLabelVisible: false })
    const lineMap = posLines.current
    return () => {
      chartRef.current = null
      seriesRef.current = null
      bidLine.current = null
      askLine.current = null
      lineMap.clear()
      chart.remove()
    }
    // t is stable for the chart's life; titles are re-applied on language change below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  // Theme colours (hex) without recreating the chart.
  useEffect(() => {
    const p = PALETTES[resolved]
    chartRef.current?.applyOptions({
      layout: { background: { color: p.background }, textColor: p.text, attributionLogo: true },
      grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
      rightPriceScale: { borderColor: p.border },
      timeScale: { borderColor: p.border },
    })
    seriesRef.current?.applyOptions({
      upColor: p.up,
      downColor: p.down,
      borderUpColor: p.up,
      borderDownColor: p.down,
      wickUpColor: p.up,
      wickDownColor: p.down,
    })
    bidLine.current?.applyOptions({ color: p.bid, axisLabelColor: p.bid, axisLabelTextColor: '#ffffff' })
    askLine.current?.applyOptions({ color: p.ask, axisLabelColor: p.ask, axisLabelTextColor: '#ffffff' })
    for (const [id, line] of posLines.current) {
      const kind = id.split(':')[0] as 'entry' | 'tp' | 'sl'
      line.applyOptions({ color: p[kind] })
    }
  }, [resolved])

  // Price format from the instrument's digits.
  useEffect(() => {
    seriesRef.current?.applyOptions({ priceFormat: { type: 'price', precision: digits, minMove: 10 ** -digits } })
  }, [digits])

  // History: once per symbol/interval (and after a reconnect re-fetch).
  useEffect(() => {
    const series = seriesRef.current
    if (!series) return
    if (!candles.data) {
      series.setData([])
      lastBar.current = null
      return
    }
    const bars = toBars(candles.data)
    series.setData(bars.map((b) => ({ ...b, time: b.time as UTCTimestamp })))
    lastBar.current = bars.at(-1) ?? null
    chartRef.current?.timeScale().fitContent()
    chartRef.current?.timeScale().scrollToRealTime()
  }, [candles.data])

  // Live ticks: straight from the quote store to the series, no React render.
  useEffect(() => {
    const onQuote = (q: { bid: string; ask: string; ts: number } | undefined) => {
      const series = seriesRef.current
      if (!q || !series) return
      const bid = Number(q.bid)
      const ask = Number(q.ask)
      bidLine.current?.applyOptions({ price: bid, lineVisible: true, axisLabelVisible: true })
      askLine.current?.applyOptions({ price: ask, lineVisible: true, axisLabelVisible: true })
      if (!lastBar.current) return // wait for history before extending it
      const next = applyTick(lastBar.current, q.ts, bid, interval)
      if (!next) return
      lastBar.current = next
      series.update({ ...next, time: next.time as UTCTimestamp })
    }
    onQuote(quotesStore.getState().quotes[symbol])
    return quotesStore.subscribe((state, prev) => {
      const q = state.quotes[symbol]
      if (q !== prev.quotes[symbol]) onQuote(q)
    })
  }, [symbol, interval])

  // Position lines: moved in place, created/removed as positions come and go.
  useEffect(() => {
    const series = seriesRef.current
    if (!series) return
    const p = PALETTES[resolved]
    const wanted = new Map(lines.map((l) => [`${l.kind}:${l.id}`, l]))
    for (const [key, line] of posLines.current) {
      if (!wanted.has(key)) {
        series.removePriceLine(line)
        posLines.current.delete(key)
      }
    }
    for (const [key, l] of wanted) {
      const existing = posLines.current.get(key)
      const opts = {
        price: l.price,
        title: l.title,
        color: p[l.kind],
        lineStyle: l.kind === 'entry' ? LineStyle.Solid : LineStyle.Dashed,
        lineWidth: 1 as const,
        axisLabelVisible: true,
      }
      if (existing) existing.applyOptions(opts)
      else posLines.current.set(key, series.createPriceLine(opts))
    }
    extraPrices.current = lines.map((l) => l.price)
    // resolved is read for the colour of new lines; theme changes recolour in the theme effect.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lines])

  return (
    <section aria-label={t('chart.label', { symbol })} className={cn('flex min-h-0 flex-col', className)}>
      <div role="toolbar" aria-label={t('chart.intervals')} className="flex flex-wrap items-center gap-1 px-2 py-1.5">
        {INTERVALS.map((iv) => (
          <Button
            key={iv}
            size="sm"
            variant={iv === interval ? 'secondary' : 'ghost'}
            aria-pressed={iv === interval}
            className="h-7 px-2 num"
            onClick={() => changeInterval(iv)}
          >
            {iv}
          </Button>
        ))}
        {candles.isError ? (
          <span role="status" className="ml-2 text-xs text-destructive">
            {t('chart.loadFailed')}
          </span>
        ) : null}
      </div>
      <div className="relative min-h-[260px] flex-1">
        <div ref={container} data-testid="price-chart" className="absolute inset-0" />
        {candles.isLoading ? <Skeleton className="absolute inset-2" /> : null}
      </div>
    </section>
  )
}
