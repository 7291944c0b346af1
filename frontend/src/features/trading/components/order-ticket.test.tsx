import { act, render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resetCsrf } from '@/lib/api-client'
import { clearQuotes, flushQuotes, pushQuote, setQuoteScheduler } from '@/lib/ws/quote-store'
import type { Account, Instrument } from '@/lib/types'
import { OrderTicket } from '@/features/trading/components/order-ticket'

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
  stops_level: 10,
  tradable: true,
  quote_currency: 'USD',
  commission_per_lot: '3.00',
}
const account: Account = {
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

let posted: { url: string; headers: Record<string, string>; body: unknown }[] = []

beforeEach(() => {
  posted = []
  resetCsrf()
  clearQuotes()
  setQuoteScheduler((f) => f())
  act(() => {
    pushQuote('EURUSD', '1.08000', '1.08010', Date.now())
    flushQuotes()
  })
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    if (url === '/api/auth/csrf') return new Response(JSON.stringify({ csrf_token: 'tok' }), { headers: { 'Content-Type': 'application/json' } })
    posted.push({ url, headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)) })
    const body = { order: { id: 5, status: 'filled', fill_price: '1.08010' }, position: { id: 9, open_price: '1.08010' } }
    return new Response(JSON.stringify(body), { status: 201, headers: { 'Content-Type': 'application/json' } })
  })
})
afterEach(() => {
  vi.unstubAllGlobals()
  setQuoteScheduler(null)
})

function renderTicket() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return render(
    <QueryClientProvider client={qc}>
      <OrderTicket instrument={instrument} account={account} />
    </QueryClientProvider>,
  )
}

describe('OrderTicket', () => {
  it('shows live prices and the required margin before sending', async () => {
    renderTicket()
    expect(screen.getByRole('button', { name: /buy\s*1\.08010/i })).toBeInTheDocument()
    expect(screen.getByRole('button', { name: /sell\s*1\.08000/i })).toBeInTheDocument()
    // 0.01 lot × 100000 × 1.0801 / 100
    expect(screen.getByTestId('required-margin').textContent).toBe('$10.80')
    const volume = screen.getByLabelText('Volume (lots)')
    await userEvent.clear(volume)
    await userEvent.type(volume, '1')
    expect(screen.getByTestId('required-margin').textContent).toBe('$1,080.10')
  })

  it('refuses a volume off the step and a stop loss on the wrong side, and sends nothing', async () => {
    renderTicket()
    const volume = screen.getByLabelText('Volume (lots)')
    await userEvent.clear(volume)
    await userEvent.type(volume, '0.015')
    await userEvent.type(screen.getByLabelText('Stop loss'), '1.09000')
    await userEvent.click(screen.getByRole('button', { name: 'Buy 0.015 EURUSD' }))
    const alerts = await screen.findAllByRole('alert')
    expect(alerts.map((a) => a.textContent)).toEqual([
      'Use a multiple of the volume step',
      'Stop loss must be below the price (by at least the minimum distance)',
    ])
    expect(screen.getByLabelText('Volume (lots)')).toHaveAttribute('aria-invalid', 'true')
    expect(posted).toEqual([])
  })

  it('sends a valid market order with an idempotency key', async () => {
    renderTicket()
    await userEvent.click(screen.getByRole('button', { name: /^sell/i }))
    const volume = screen.getByLabelText('Volume (lots)')
    await userEvent.clear(volume)
    await userEvent.type(volume, '0.10')
    await userEvent.type(screen.getByLabelText('Take profit'), '1.07000')
    await userEvent.click(screen.getByRole('button', { name: 'Sell 0.10 EURUSD' }))
    await waitFor(() => expect(posted).toHaveLength(1))
    expect(posted[0]!.url).toBe('/api/orders')
    expect(posted[0]!.body).toEqual({ account_id: 42, symbol: 'EURUSD', side: 'sell', type: 'market', volume: '0.10', tp: '1.07000' })
    expect(posted[0]!.headers['Idempotency-Key']).toMatch(/.{8,}/)
    expect(posted[0]!.headers['X-CSRFToken']).toBe('tok')
  })

  it('asks for a price on pending orders and checks its side of the market', async () => {
    renderTicket()
    await userEvent.selectOptions(screen.getByLabelText('Order type'), 'limit')
    await userEvent.type(screen.getByLabelText('Price'), '1.09000')
    await userEvent.click(screen.getByRole('button', { name: 'Place Buy Limit' }))
    expect((await screen.findByRole('alert')).textContent).toBe('Must be below the market price (by at least the minimum distance)')
    expect(posted).toEqual([])
  })
})
