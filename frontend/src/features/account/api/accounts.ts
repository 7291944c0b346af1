import { useMutation, useQueryClient } from '@tanstack/react-query'
import { request } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { Account } from '@/lib/types'

export function useOpenDemo() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: async (body: { leverage?: number; initial_deposit?: string } = {}) => {
      const res = await request<Account | { account?: Account; command_id?: string }>('/api/accounts/demo', { method: 'POST', body })
      const data = res.data as Account & { account?: Account }
      return data.account ?? (data.id ? data : null)
    },
    onSettled: () => qc.invalidateQueries({ queryKey: qk.accounts }),
  })
}
