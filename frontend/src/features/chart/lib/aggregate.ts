// Live candles from ticks: the current bar is completed on the client (the server's candles
// are bid-based, so ticks use the bid too), late ticks are dropped.

export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'] as const
export type Interval = (typeof INTERVALS)[number]

const SECONDS: Record<Interval, number> = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '30m': 1800,
  '1h': 3600,
  '4h': 14400,
  '1d': 86400,
  '1w': 604800,
}

export function intervalSeconds(interval: Interval): number {
  return SECONDS[interval]
}

export interface Bar {
  time: number
  open: number
  high: number
  low: number
  close: number
}

// Weeks start on Monday 00:00 UTC (the epoch was a Thursday: shift by 4 days).
const WEEK_OFFSET = 4 * 86400

/** Start (UTC seconds) of the bar that holds `tsMs`. */
export function bucketStart(tsMs: number, interval: Interval): number {
  const t = Math.floor(tsMs / 1000)
  const size = SECONDS[interval]
  if (interval === '1w') return t - ((t - WEEK_OFFSET) % size + size) % size
  return t - (t % size)
}

/**
 * Fold one tick into the last bar: a new bar when the tick opens a later bucket, an updated bar
 * in the same bucket, null for a late tick (older bucket) that must be ignored.
 */
export function applyTick(last: Bar | null, tsMs: number, price: number, interval: Interval): Bar | null {
  const time = bucketStart(tsMs, interval)
  if (!last || time > last.time) {
    return { time, open: last ? last.close : price, high: price, low: price, close: price }
  }
  if (time < last.time) return null
  return { time, open: last.open, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price }
}

/** API candles (decimal strings, epoch seconds) → chart bars, sorted and de-duplicated. */
export function toBars(candles: { t: number; o: string; h: string; l: string; c: string }[]): Bar[] {
  const byTime = new Map<number, Bar>()
  for (const c of candles) {
    // The chart draws with floats; values shown to the user as text never come from here.
    byTime.set(c.t, { time: c.t, open: Number(c.o), high: Number(c.h), low: Number(c.l), close: Number(c.c) })
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time)
}

/** Price range that also contains the given lines (price lines do not take part in autoscale). */
export function widenRange(range: { minValue: number; maxValue: number } | null, lines: number[]): { minValue: number; maxValue: number } | null {
  if (!range) return null
  let { minValue, maxValue } = range
  for (const p of lines) {
    if (!Number.isFinite(p)) continue
    minValue = Math.min(minValue, p)
    maxValue = Math.max(maxValue, p)
  }
  return { minValue, maxValue }
}
