import { act, render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resetCsrf } from '@/lib/api-client'
import { clearQuotes, flushQuotes, pushQuote, setQuoteScheduler } from '@/lib/ws/quote-store'
import type { Account, Instrument, Position } from '@/lib/types'
import { ClosePositionDialog } from '@/features/trading/components/position-dialogs'

const instrument: Instrument = {
  symbol: 'EURUSD',
  description: 'Euro vs US Dollar',
  kind: 'forex',
  digits: 5,
  contract_size: '100000',
  volume_min: '0.01',
  volume_max: '100',
  volume_step: '0.01',
  max_leverage: 500,
  stops_level: 0,
  tradable: true,
  quote_currency: 'USD',
  commission_per_lot: '0.00',
}
const account: Account = {
  id: 42,
  number: '1000042',
  type: 'live',
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
const buy: Position = { id: 9, account_id: 42, symbol: 'EURUSD', side: 'buy', status: 'open', volume: '1.00', open_price: '1.08010' }
const sell: Position = { id: 11, account_id: 42, symbol: 'EURUSD', side: 'sell', status: 'open', volume: '0.50', open_price: '1.08500' }

let posted: { url: string; body: unknown }[] = []

beforeEach(() => {
  posted = []
  resetCsrf()
  clearQuotes()
  setQuoteScheduler((f) => f())
  act(() => {
    pushQuote('EURUSD', '1.08300', '1.08310', Date.now())
    flushQuotes()
  })
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    if (url === '/api/auth/csrf') return new Response(JSON.stringify({ csrf_token: 'tok' }), { headers: { 'Content-Type': 'application/json' } })
    posted.push({ url, body: JSON.parse(String(init.body)) })
    return new Response(JSON.stringify({ positions: [], trades: [] }), { status: 200, headers: { 'Content-Type': 'application/json' } })
  })
})
afterEach(() => {
  vi.unstubAllGlobals()
  setQuoteScheduler(null)
})

function renderDialog(opposites: Position[], onOpenChange = vi.fn()) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(
    <QueryClientProvider client={qc}>
      <ClosePositionDialog position={buy} instrument={instrument} account={account} opposites={opposites} open onOpenChange={onOpenChange} />
    </QueryClientProvider>,
  )
  return onOpenChange
}

describe('ClosePositionDialog', () => {
  it('closes by an opposite position of the same symbol', async () => {
    const onOpenChange = renderDialog([sell])
    await userEvent.click(screen.getByRole('button', { name: 'Close by #11: Sell 0.50 lots at 1.08500' }))
    await waitFor(() => expect(onOpenChange).toHaveBeenCalledWith(false))
    expect(posted).toEqual([{ url: '/api/positions/9/close-by', body: { by_position_id: 11 } }])
  })

  it('offers no close by without an opposite position', () => {
    renderDialog([])
    expect(screen.queryByText('Or close by an opposite position')).toBeNull()
    expect(screen.getByRole('button', { name: 'Close at market' })).toBeInTheDocument()
  })
})
