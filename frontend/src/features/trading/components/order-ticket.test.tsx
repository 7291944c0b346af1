import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OrderTicket } from '@/features/trading/components/order-ticket'
import { ACCOUNT, EURUSD, installTradingStubs, uninstallTradingStubs, type Posted } from '@/features/trading/test/fixtures'

const instrument = EURUSD
const account = ACCOUNT

let posted: Posted[] = []

beforeEach(() => {
  const body = { order: { id: 5, status: 'filled', fill_price: '1.08010' }, position: { id: 9, open_price: '1.08010' } }
  posted = installTradingStubs('1.08000', '1.08010', 201, body)
})
afterEach(uninstallTradingStubs)

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
