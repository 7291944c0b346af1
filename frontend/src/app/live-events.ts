import { useEffect } from 'react'
import { useQueryClient, type QueryClient } from '@tanstack/react-query'
import type { TFunction } from 'i18next'
import i18n from 'i18next'
import { toast } from 'sonner'
import { formatPercent, formatPrice, formatSigned } from '@/lib/format'
import { qk } from '@/lib/query-keys'
import { stream } from '@/lib/ws/stream'
import { clearQuotes } from '@/lib/ws/quote-store'
import type { PrivateFrame } from '@/lib/ws/messages'
import type { Account, Instrument, Order, Trade } from '@/lib/types'

// Private events from the engine (via WS /api/stream) keep the cached account data fresh and
// raise notifications. Sockets notify, queries fetch: lists are invalidated, figures patched.

const FIGURES = ['balance', 'credit', 'equity', 'margin', 'free_margin', 'margin_level', 'floating_pl', 'held'] as const

function patchAccount(qc: QueryClient, accountId: number, ev: Record<string, unknown>): void {
  qc.setQueryData<Account[]>(qk.accounts, (list) =>
    list?.map((a) => {
      if (a.id !== accountId) return a
      const next: Account = { ...a }
      for (const f of FIGURES) {
        const v = ev[f]
        if (typeof v === 'string') (next as unknown as Record<string, unknown>)[f] = f === 'margin_level' && v === '' ? null : v
      }
      return next
    }),
  )
}

function digitsOf(qc: QueryClient, symbol: string): number {
  return qc.getQueryData<Instrument[]>(qk.symbols)?.find((i) => i.symbol === symbol)?.digits ?? 5
}

function reason(t: TFunction, code: string | null | undefined): string {
  const key = `errors.${code ?? 'rejected'}`
  return i18n.exists(key) ? t(key as never) : (code ?? '')
}

export function handlePrivateEvent(qc: QueryClient, t: TFunction, ev: PrivateFrame): void {
  const data = ev as unknown as Record<string, unknown>
  switch (ev.type) {
    case 'account':
      patchAccount(qc, ev.account_id, data)
      return
    case 'balance':
      patchAccount(qc, ev.account_id, data)
      void qc.invalidateQueries({ queryKey: qk.accounts })
      void qc.invalidateQueries({ queryKey: qk.ledger(ev.account_id) })
      void qc.invalidateQueries({ queryKey: qk.deposits })
      void qc.invalidateQueries({ queryKey: qk.withdrawals })
      return
    case 'order': {
      void qc.invalidateQueries({ queryKey: qk.ordersAll })
      const order = data.order as Order | undefined
      const event = data.event as string | undefined
      if (!order) return
      const side = t(`ticket.side.${order.side}`)
      if (event === 'filled' && order.type !== 'market') {
        toast.success(t('notify.pendingFilled', { side, type: t(`ticket.type.${order.type}`), symbol: order.symbol, price: formatPrice(order.fill_price, digitsOf(qc, order.symbol)) }), { id: `order-${order.id}-filled` })
      } else if (event === 'rejected') {
        toast.error(t('notify.orderRejected', { side, symbol: order.symbol, reason: reason(t, order.reject_code) }), { id: `order-${order.id}-rejected` })
      } else if (event === 'expired') {
        toast.info(t('notify.orderExpired', { side, symbol: order.symbol }), { id: `order-${order.id}-expired` })
      } else if (event === 'triggered') {
        toast.info(t('notify.orderTriggered', { side, symbol: order.symbol }), { id: `order-${order.id}-triggered` })
      }
      return
    }
    case 'position':
      void qc.invalidateQueries({ queryKey: qk.positionsAll })
      void qc.invalidateQueries({ queryKey: qk.accounts })
      return
    case 'trade': {
      void qc.invalidateQueries({ queryKey: qk.tradesAll })
      const trade = data.trade as Trade | undefined
      // Closes the client did not ask for right now: stop loss, take profit, stop-out, the broker.
      if (trade && trade.entry === 'out' && trade.reason && trade.reason !== 'client') {
        const why = t(`notify.closeReason.${trade.reason}`, { defaultValue: trade.reason })
        const profit = formatSigned(trade.profit)
        toast.info(t('notify.positionClosedBy', { symbol: trade.symbol, reason: why, profit }), { id: `trade-${trade.id}` })
      }
      return
    }
    case 'margin_call':
      toast.warning(t('notify.marginCall', { level: formatPercent(data.margin_level as string | undefined) }), { id: `margin-call-${ev.account_id}`, duration: 15000 })
      void qc.invalidateQueries({ queryKey: qk.accounts })
      return
    case 'stop_out':
      toast.error(t('notify.stopOut', { level: formatPercent(data.margin_level as string | undefined) }), { id: `stop-out-${ev.account_id}-${Date.now()}`, duration: 20000 })
      void qc.invalidateQueries({ queryKey: qk.positionsAll })
      void qc.invalidateQueries({ queryKey: qk.ordersAll })
      void qc.invalidateQueries({ queryKey: qk.accounts })
      return
  }
}

/** Run the stream while logged in, route its events into the cache and notifications. */
export function useLiveEvents(loggedIn: boolean): void {
  const qc = useQueryClient()
  useEffect(() => {
    if (!loggedIn) return
    stream.start()
    // i18n.t (not the hook's t): a language change must not restart the stream.
    const offPrivate = stream.onPrivate((ev) => handlePrivateEvent(qc, i18n.t.bind(i18n), ev))
    const offResync = stream.onResync(() => {
      // The socket was down: whatever happened meanwhile is re-fetched.
      void qc.invalidateQueries({ queryKey: qk.accounts })
      void qc.invalidateQueries({ queryKey: qk.positionsAll })
      void qc.invalidateQueries({ queryKey: qk.ordersAll })
      void qc.invalidateQueries({ queryKey: qk.tradesAll })
      void qc.invalidateQueries({ queryKey: ['candles'] })
      void qc.invalidateQueries({ queryKey: qk.symbols })
    })
    return () => {
      offPrivate()
      offResync()
      stream.stop()
      clearQuotes()
    }
  }, [loggedIn, qc])
}
