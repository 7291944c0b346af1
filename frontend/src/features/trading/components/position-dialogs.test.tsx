import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Position } from '@/lib/types'
import { ClosePositionDialog } from '@/features/trading/components/position-dialogs'
import { ACCOUNT, EURUSD, installTradingStubs, uninstallTradingStubs, type Posted } from '@/features/trading/test/fixtures'

const instrument = { ...EURUSD, stops_level: 0, commission_per_lot: '0.00' }
const account = { ...ACCOUNT, type: 'live' as const }
const buy: Position = { id: 9, account_id: 42, symbol: 'EURUSD', side: 'buy', status: 'open', volume: '1.00', open_price: '1.08010' }
const sell: Position = { id: 11, account_id: 42, symbol: 'EURUSD', side: 'sell', status: 'open', volume: '0.50', open_price: '1.08500' }

let posted: Posted[] = []

beforeEach(() => {
  posted = installTradingStubs('1.08300', '1.08310', 200, { positions: [], trades: [] })
})
afterEach(uninstallTradingStubs)

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
    expect(posted.map(({ url, body }) => ({ url, body }))).toEqual([{ url: '/api/positions/9/close-by', body: { by_position_id: 11 } }])
  })

  it('offers no close by without an opposite position', () => {
    renderDialog([])
    expect(screen.queryByText('Or close by an opposite position')).toBeNull()
    expect(screen.getByRole('button', { name: 'Close at market' })).toBeInTheDocument()
  })
})
