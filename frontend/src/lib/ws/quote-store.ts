import { createStore } from 'zustand/vanilla'
import { useStore } from 'zustand'

// Live quotes live outside React: ticks are buffered and merged into the store once per
// animation frame, so a burst of ticks costs one render, and a row re-renders only when its
// own symbol changes.

export interface Quote {
  bid: string
  ask: string
  /** epoch milliseconds */
  ts: number
  /** direction of the last bid change, for the tick arrow */
  dir: 'up' | 'down' | 'flat'
}

export interface QuotesState {
  quotes: Record<string, Quote>
}

export const quotesStore = createStore<QuotesState>(() => ({ quotes: {} }))

let pending: Record<string, Omit<Quote, 'dir'>> = {}
let scheduled = false

type Scheduler = (flush: () => void) => void
const defaultScheduler: Scheduler = (flush) => {
  if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
    requestAnimationFrame(flush)
  } else {
    // Hidden tabs get no animation frames; keep the store roughly current anyway.
    setTimeout(flush, 250)
  }
}
let schedule: Scheduler = defaultScheduler

/** Replace the frame scheduler (tests). */
export function setQuoteScheduler(s: Scheduler | null): void {
  schedule = s ?? defaultScheduler
}

function compare(a: string, b: string): 'up' | 'down' | 'flat' {
  const x = Number(a)
  const y = Number(b)
  // Only the direction arrow uses this comparison; exact values are never derived from it.
  return x > y ? 'up' : x < y ? 'down' : 'flat'
}

export function flushQuotes(): void {
  scheduled = false
  const batch = pending
  pending = {}
  const keys = Object.keys(batch)
  if (!keys.length) return
  const current = quotesStore.getState().quotes
  const next: Record<string, Quote> = { ...current }
  for (const symbol of keys) {
    const q = batch[symbol]!
    const prev = current[symbol]
    if (prev && q.ts < prev.ts) continue // late tick
    next[symbol] = { ...q, dir: prev ? compare(q.bid, prev.bid) : 'flat' }
  }
  quotesStore.setState({ quotes: next })
}

/** Queue a tick; it reaches subscribers at the next frame (last tick per symbol wins). */
export function pushQuote(symbol: string, bid: string, ask: string, ts: number): void {
  const prev = pending[symbol]
  if (prev && ts < prev.ts) return
  pending[symbol] = { bid, ask, ts }
  if (!scheduled) {
    scheduled = true
    schedule(flushQuotes)
  }
}

/** Seed quotes from a REST snapshot (symbols list) without overwriting newer ticks. */
export function seedQuotes(entries: { symbol: string; bid: string; ask: string; ts: number }[]): void {
  const current = quotesStore.getState().quotes
  const next = { ...current }
  let changed = false
  for (const e of entries) {
    const prev = current[e.symbol]
    if (prev && prev.ts >= e.ts) continue
    next[e.symbol] = { bid: e.bid, ask: e.ask, ts: e.ts, dir: 'flat' }
    changed = true
  }
  if (changed) quotesStore.setState({ quotes: next })
}

export function getQuote(symbol: string): Quote | undefined {
  return quotesStore.getState().quotes[symbol]
}

/** The live quote of one symbol; re-renders only when that symbol ticks. */
export function useQuote(symbol: string | null | undefined): Quote | undefined {
  return useStore(quotesStore, (s) => (symbol ? s.quotes[symbol] : undefined))
}

/** Reset (logout, tests). */
export function clearQuotes(): void {
  pending = {}
  scheduled = false
  quotesStore.setState({ quotes: {} })
}
