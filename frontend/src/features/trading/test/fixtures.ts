// Shared by the trading components' tests: an instrument, an account and an API stub.
import { act } from '@testing-library/react'
import { vi } from 'vitest'
import { resetCsrf } from '@/lib/api-client'
import { clearQuotes, flushQuotes, pushQuote, setQuoteScheduler } from '@/lib/ws/quote-store'
import type { Account, Instrument } from '@/lib/types'

export const EURUSD: Instrument = {
  symbol: 'EURUSD',
  description: 'Euro vs US Dollar',
  kind: 'forex',
  digits: 5,
  contract_size: '100000',
  volume_min: '0.01',
  volume_max: '100',
  volume_step: '0.01',
  max_leverage: 500,
  stops_level: 10,
  tradable: true,
  quote_currency: 'USD',
  commission_per_lot: '3.00',
}

export const ACCOUNT: Account = {
  id: 42,
  number: '1000042',
  type: 'demo',
  currency: 'USD',
  balance: '10000.00',
  credit: '0.00',
  equity: '10000.00',
  margin: '0.00',
  free_margin: '10000.00',
  margin_level: null,
  floating_pl: '0.00',
  leverage: 100,
  trading_rights: 'full',
}

export interface Posted {
  url: string
  headers: Record<string, string>
  body: unknown
}

/**
 * Quotes applied at once with one EURUSD quote, a CSRF token, and every other request recorded in
 * the returned list and answered with `status` and `body`. Undo with `uninstallTradingStubs`.
 */
export function installTradingStubs(bid: string, ask: string, status: number, body: unknown): Posted[] {
  const posted: Posted[] = []
  resetCsrf()
  clearQuotes()
  setQuoteScheduler((f) => f())
  act(() => {
    pushQuote('EURUSD', bid, ask, Date.now())
    flushQuotes()
  })
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    if (url === '/api/auth/csrf') return new Response(JSON.stringify({ csrf_token: 'tok' }), { headers: { 'Content-Type': 'application/json' } })
    posted.push({ url, headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)) })
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  })
  return posted
}

export function uninstallTradingStubs(): void {
  vi.unstubAllGlobals()
  setQuoteScheduler(null)
}
