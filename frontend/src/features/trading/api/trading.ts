import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, download, request } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { Order, Page, PlaceOrderResult, Position, Trade } from '@/lib/types'

function items<T>(data: T[] | Page<T> | { items?: T[] }): T[] {
  return Array.isArray(data) ? data : (data.items ?? [])
}

export function usePositions(accountId: number | null) {
  return useQuery({
    queryKey: qk.positions(accountId),
    queryFn: async () => items(await api<Position[] | Page<Position>>('/api/positions', { query: { account_id: accountId } })),
    enabled: accountId !== null,
    staleTime: 30_000,
  })
}

export function usePendingOrders(accountId: number | null) {
  return useQuery({
    queryKey: qk.orders(accountId, 'pending'),
    queryFn: async () =>
      items(await api<Order[] | Page<Order>>('/api/orders', { query: { account_id: accountId, status: 'pending' } })),
    enabled: accountId !== null,
    staleTime: 30_000,
  })
}

export interface TradeFilters {
  symbol?: string
  from?: string
  to?: string
  page: number
}

export function useTrades(accountId: number | null, filters: TradeFilters) {
  return useQuery({
    queryKey: qk.trades(accountId, { ...filters }),
    queryFn: async () => {
      const data = await api<Trade[] | Page<Trade>>('/api/trades', {
        query: { account_id: accountId, ...filters, from: toIso(filters.from), to: toIso(filters.to, true) },
      })
      return Array.isArray(data) ? { items: data } : data
    },
    enabled: accountId !== null,
    placeholderData: keepPreviousData,
  })
}

/** A date input value (YYYY-MM-DD) as an ISO bound in UTC: its start, or (exclusive end) the next day's start. */
export function toIso(day: string | undefined, endOfDay = false): string | undefined {
  if (!day) return undefined
  const start = new Date(`${day}T00:00:00Z`)
  if (Number.isNaN(start.getTime())) return undefined
  if (endOfDay) start.setUTCDate(start.getUTCDate() + 1)
  return start.toISOString().replace('.000Z', 'Z')
}

export function exportTradesCsv(accountId: number, filters: TradeFilters): Promise<void> {
  return download(
    '/api/trades',
    { account_id: accountId, symbol: filters.symbol, from: toIso(filters.from), to: toIso(filters.to, true), format: 'csv' },
    `trades-${accountId}.csv`,
  )
}

function useInvalidateTrading() {
  const qc = useQueryClient()
  return () => {
    void qc.invalidateQueries({ queryKey: qk.positionsAll })
    void qc.invalidateQueries({ queryKey: qk.ordersAll })
    void qc.invalidateQueries({ queryKey: qk.tradesAll })
    void qc.invalidateQueries({ queryKey: qk.accounts })
  }
}

export function usePlaceOrder() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: async ({ body, idempotencyKey }: { body: Record<string, unknown>; idempotencyKey: string }) => {
      const res = await request<PlaceOrderResult>('/api/orders', {
        method: 'POST',
        body,
        headers: { 'Idempotency-Key': idempotencyKey },
      })
      return { ...res.data, accepted: res.status === 202 }
    },
    onSettled: invalidate,
  })
}

export function useModifyOrder() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: ({ id, body }: { id: number; body: Record<string, unknown> }) =>
      api<unknown>(`/api/orders/${id}`, { method: 'PATCH', body }),
    onSettled: invalidate,
  })
}

export function useCancelOrder() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: (id: number) => api<unknown>(`/api/orders/${id}`, { method: 'DELETE' }),
    onSettled: invalidate,
  })
}

export function useModifyPosition() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: ({ id, sl, tp }: { id: number; sl: string | null; tp: string | null }) =>
      api<unknown>(`/api/positions/${id}`, { method: 'PATCH', body: { sl, tp } }),
    onSettled: invalidate,
  })
}

export function useClosePosition() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: ({ id, volume }: { id: number; volume?: string }) =>
      api<unknown>(`/api/positions/${id}/close`, { method: 'POST', body: volume ? { volume } : {} }),
    onSettled: invalidate,
  })
}

export function useCloseBy() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: ({ id, byId }: { id: number; byId: number }) =>
      api<unknown>(`/api/positions/${id}/close-by`, { method: 'POST', body: { by_position_id: byId } }),
    onSettled: invalidate,
  })
}

export function useCloseAll() {
  const invalidate = useInvalidateTrading()
  return useMutation({
    mutationFn: ({ accountId, symbol }: { accountId: number; symbol?: string }) =>
      api<unknown>('/api/positions/close-all', { method: 'POST', body: symbol ? { account_id: accountId, symbol } : { account_id: accountId } }),
    onSettled: invalidate,
  })
}
