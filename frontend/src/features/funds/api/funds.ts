import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { FundsRequest, LedgerEntry, Page } from '@/lib/types'

export type FundsKind = 'deposits' | 'withdrawals'

export function useFundsList(kind: FundsKind) {
  return useQuery({
    queryKey: kind === 'deposits' ? qk.deposits : qk.withdrawals,
    queryFn: async () => {
      const data = await api<FundsRequest[] | Page<FundsRequest>>(`/api/${kind}`)
      return Array.isArray(data) ? data : data.items
    },
  })
}

export function useCreateFunds(kind: FundsKind) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: Record<string, unknown>; idempotencyKey: string }) =>
      api<FundsRequest>(`/api/${kind}`, { method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey } }),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: kind === 'deposits' ? qk.deposits : qk.withdrawals })
      void qc.invalidateQueries({ queryKey: qk.accounts })
    },
  })
}

export function useCancelFunds(kind: FundsKind) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: number) => api<FundsRequest>(`/api/${kind}/${id}/cancel`, { method: 'POST' }),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: kind === 'deposits' ? qk.deposits : qk.withdrawals })
      void qc.invalidateQueries({ queryKey: qk.accounts })
    },
  })
}

/** Every balance change of an account (deposits, withdrawals, trades, commission, swap), newest first. */
export function useLedger(accountId: number | null, page: number) {
  return useQuery({
    queryKey: [...qk.ledger(accountId), page],
    queryFn: () => api<Page<LedgerEntry>>(`/api/accounts/${accountId}/ledger`, { query: { page, per_page: 25 } }),
    enabled: accountId !== null,
    placeholderData: keepPreviousData,
  })
}
