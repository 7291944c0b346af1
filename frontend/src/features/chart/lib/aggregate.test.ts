import { describe, expect, it } from 'vitest'
import { applyTick, bucketStart, toBars, widenRange } from '@/features/chart/lib/aggregate'

const T0 = Date.UTC(2026, 2, 2, 10, 0, 0) // Monday 10:00:00 UTC

describe('bucketStart', () => {
  it('floors to the interval in UTC seconds', () => {
    expect(bucketStart(T0 + 59_999, '1m')).toBe(T0 / 1000)
    expect(bucketStart(T0 + 60_000, '1m')).toBe(T0 / 1000 + 60)
    expect(bucketStart(T0 + 14 * 60_000, '15m')).toBe(T0 / 1000)
    expect(bucketStart(T0, '1d')).toBe(Date.UTC(2026, 2, 2) / 1000)
  })
  it('starts weeks on Monday', () => {
    const thursday = Date.UTC(2026, 2, 5, 12)
    expect(bucketStart(thursday, '1w')).toBe(Date.UTC(2026, 2, 2) / 1000)
  })
})

describe('applyTick', () => {
  it('opens a new bar from the previous close', () => {
    const bar = applyTick({ time: T0 / 1000, open: 1, high: 1.2, low: 0.9, close: 1.1 }, T0 + 61_000, 1.15, '1m')
    expect(bar).toEqual({ time: T0 / 1000 + 60, open: 1.1, high: 1.15, low: 1.15, close: 1.15 })
  })
  it('extends the current bar', () => {
    let bar = applyTick(null, T0, 1.1, '1m')!
    bar = applyTick(bar, T0 + 1000, 1.2, '1m')!
    bar = applyTick(bar, T0 + 2000, 1.05, '1m')!
    expect(bar).toEqual({ time: T0 / 1000, open: 1.1, high: 1.2, low: 1.05, close: 1.05 })
  })
  it('drops a late tick from an earlier bar', () => {
    const bar = { time: T0 / 1000 + 60, open: 1, high: 1, low: 1, close: 1 }
    expect(applyTick(bar, T0 + 30_000, 2, '1m')).toBeNull()
  })
})

describe('toBars', () => {
  it('sorts and de-duplicates API candles', () => {
    const bars = toBars([
      { t: 120, o: '2', h: '2', l: '2', c: '2' },
      { t: 60, o: '1', h: '1', l: '1', c: '1' },
      { t: 120, o: '3', h: '3', l: '3', c: '3' },
    ])
    expect(bars.map((b) => [b.time, b.close])).toEqual([
      [60, 1],
      [120, 3],
    ])
  })
})

describe('widenRange', () => {
  it('includes far TP/SL lines in the autoscale range', () => {
    expect(widenRange({ minValue: 1.08, maxValue: 1.09 }, [1.07, 1.1])).toEqual({ minValue: 1.07, maxValue: 1.1 })
    expect(widenRange(null, [1])).toBeNull()
  })
})
