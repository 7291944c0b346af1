import { QueryClient } from '@tanstack/react-query'
import i18n from 'i18next'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { toast } from 'sonner'
import { qk } from '@/lib/query-keys'
import { defaultAccount } from '@/lib/session'
import type { Account } from '@/lib/types'
import type { PrivateFrame } from '@/lib/ws/messages'
import { handlePrivateEvent } from '@/app/live-events'

vi.mock('sonner', () => ({ toast: { success: vi.fn(), error: vi.fn(), info: vi.fn(), warning: vi.fn() } }))

const t = i18n.t.bind(i18n)
const base: Account = {
  id: 7,
  number: '7',
  type: 'live',
  currency: 'USD',
  balance: '100.00',
  credit: '0.00',
  equity: '100.00',
  margin: '0.00',
  free_margin: '100.00',
  margin_level: null,
  floating_pl: '0.00',
  leverage: 100,
  trading_rights: 'full',
}

let qc: QueryClient
beforeEach(() => {
  qc = new QueryClient()
  qc.setQueryData(qk.accounts, [base, { ...base, id: 8 }])
  vi.clearAllMocks()
})
const frame = (f: Record<string, unknown>) => f as unknown as PrivateFrame

describe('private events', () => {
  it('patch the live figures of the account they are about', () => {
    handlePrivateEvent(qc, t, frame({ type: 'account', account_id: 7, equity: '112.50', free_margin: '90.10', margin_level: '', floating_pl: '12.50' }))
    const [a, b] = qc.getQueryData<Account[]>(qk.accounts)!
    expect(a).toMatchObject({ equity: '112.50', free_margin: '90.10', margin_level: null, floating_pl: '12.50', balance: '100.00' })
    expect(b).toEqual({ ...base, id: 8 })
  })

  it('refetch the lists a fill changes', () => {
    const spy = vi.spyOn(qc, 'invalidateQueries')
    handlePrivateEvent(qc, t, frame({ type: 'position', account_id: 7, event: 'opened', position: { id: 1 } }))
    expect(spy.mock.calls.map((c) => c[0]?.queryKey)).toEqual([qk.positionsAll, qk.accounts])
  })

  it('notify rejections, pending fills and closes by stop loss, never colour only', () => {
    handlePrivateEvent(qc, t, frame({ type: 'order', account_id: 7, event: 'rejected', order: { id: 3, side: 'buy', type: 'limit', symbol: 'EURUSD', reject_code: 'insufficient_margin' } }))
    expect(toast.error).toHaveBeenCalledWith('Buy order on EURUSD refused: Not enough free margin for this order.', { id: 'order-3-rejected' })
    handlePrivateEvent(qc, t, frame({ type: 'order', account_id: 7, event: 'filled', order: { id: 4, side: 'sell', type: 'limit', symbol: 'EURUSD', fill_price: '1.1' } }))
    expect(toast.success).toHaveBeenCalledWith('Sell Limit on EURUSD filled at 1.10000', { id: 'order-4-filled' })
    handlePrivateEvent(qc, t, frame({ type: 'trade', account_id: 7, trade: { id: 9, symbol: 'EURUSD', entry: 'out', reason: 'sl', profit: '-4.5' } }))
    expect(toast.info).toHaveBeenCalledWith('EURUSD position closed by stop loss (P/L \u22124.50)', { id: 'trade-9' })
    // A close the client asked for was already confirmed by the dialog: no second notification.
    handlePrivateEvent(qc, t, frame({ type: 'trade', account_id: 7, trade: { id: 10, symbol: 'EURUSD', entry: 'out', reason: 'client', profit: '1' } }))
    expect(toast.info).toHaveBeenCalledTimes(1)
  })

  it('warn about margin calls and stop-outs', () => {
    handlePrivateEvent(qc, t, frame({ type: 'margin_call', account_id: 7, margin_level: '95.5' }))
    expect(vi.mocked(toast.warning).mock.calls[0]?.[0]).toBe('Margin call: your margin level is 95.50 %. Add funds or reduce positions.')
    handlePrivateEvent(qc, t, frame({ type: 'stop_out', account_id: 7, margin_level: '49' }))
    expect(vi.mocked(toast.error).mock.calls[0]?.[0]).toBe('Stop-out at margin level 49.00 %: positions were closed to protect your account.')
  })
})

describe('defaultAccount', () => {
  it('prefers a funded live account, then a funded demo, then live', () => {
    const live0 = { ...base, id: 1, balance: '0.00' }
    const demo = { ...base, id: 2, type: 'demo' as const, balance: '10000.00' }
    const live1 = { ...base, id: 3, balance: '5.00' }
    expect(defaultAccount([live0, demo])?.id).toBe(2)
    expect(defaultAccount([live0, demo, live1])?.id).toBe(3)
    expect(defaultAccount([live0])?.id).toBe(1)
    expect(defaultAccount([])).toBeUndefined()
  })
})
