// Every TanStack Query key in one place, so WebSocket events can invalidate exactly what changed.
export const qk = {
  me: ['me'] as const,
  accounts: ['accounts'] as const,
  symbols: ['symbols'] as const,
  candles: (symbol: string, interval: string) => ['candles', symbol, interval] as const,
  positions: (accountId: number | null) => ['positions', accountId] as const,
  positionsAll: ['positions'] as const,
  orders: (accountId: number | null, status: string) => ['orders', accountId, status] as const,
  ordersAll: ['orders'] as const,
  trades: (accountId: number | null, filters: Record<string, unknown>) => ['trades', accountId, filters] as const,
  tradesAll: ['trades'] as const,
  ledger: (accountId: number | null) => ['ledger', accountId] as const,
  deposits: ['deposits'] as const,
  withdrawals: ['withdrawals'] as const,
  kyc: ['kyc'] as const,
  sessions: ['sessions'] as const,
}
