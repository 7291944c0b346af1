import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { Me, SessionInfo, TotpSetup } from '@/lib/types'

export function useUpdateProfile() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: { first_name: string; last_name: string; phone?: string | null; country?: string | null }) =>
      api<Me>('/api/auth/me', { method: 'PATCH', body }),
    onSuccess: (me) => {
      if (me && typeof me === 'object' && 'id' in me) qc.setQueryData(qk.me, me)
      else void qc.invalidateQueries({ queryKey: qk.me })
    },
  })
}

export function useChangePassword() {
  return useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      api<unknown>('/api/auth/change-password', { method: 'POST', body }),
  })
}

export function useTotpSetup() {
  return useMutation({ mutationFn: () => api<TotpSetup>('/api/auth/2fa/setup', { method: 'POST' }) })
}

export function useTotpEnable() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (code: string) => api<{ backup_codes: string[] }>('/api/auth/2fa/enable', { method: 'POST', body: { code } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.me }),
  })
}

export function useTotpDisable() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: { password: string; code: string }) => api<unknown>('/api/auth/2fa/disable', { method: 'POST', body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.me }),
  })
}

export function useNewBackupCodes() {
  return useMutation({
    mutationFn: (code: string) => api<{ backup_codes: string[] }>('/api/auth/2fa/backup-codes', { method: 'POST', body: { code } }),
  })
}

export function useSessions() {
  return useQuery({
    queryKey: qk.sessions,
    queryFn: async () => {
      const data = await api<SessionInfo[] | { items: SessionInfo[]; sessions?: SessionInfo[] }>('/api/auth/sessions')
      return Array.isArray(data) ? data : (data.sessions ?? data.items)
    },
  })
}

export function useRevokeSession() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => api<unknown>(`/api/auth/sessions/${id}`, { method: 'DELETE' }),
    onSettled: () => qc.invalidateQueries({ queryKey: qk.sessions }),
  })
}
