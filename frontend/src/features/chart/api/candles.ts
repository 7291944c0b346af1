import { useQuery } from '@tanstack/react-query'
import { api } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { Candle } from '@/lib/types'
import type { Interval } from '@/features/chart/lib/aggregate'

export function useCandles(symbol: string, interval: Interval) {
  return useQuery({
    queryKey: qk.candles(symbol, interval),
    queryFn: async ({ signal }) => {
      const data = await api<Candle[] | { items: Candle[]; candles?: Candle[] }>('/api/market/candles', {
        query: { symbol, interval, limit: 500 },
        signal,
      })
      return Array.isArray(data) ? data : (data.candles ?? data.items)
    },
    staleTime: 60_000,
    refetchOnWindowFocus: false,
  })
}
