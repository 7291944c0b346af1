import { useMutation, useQueryClient } from '@tanstack/react-query'
import { api, resetCsrf } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import type { LoginResult, Me } from '@/lib/types'

export interface RegisterInput {
  email: string
  password: string
  first_name: string
  last_name: string
  country?: string
  phone?: string
}

/** After a login the session (and its CSRF token) is new: refetch everything as this user. */
function useSignedIn() {
  const qc = useQueryClient()
  return (user: Me | undefined) => {
    resetCsrf()
    qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' && q.queryKey[0] !== 'symbols' })
    if (user) qc.setQueryData(qk.me, user)
    else void qc.invalidateQueries({ queryKey: qk.me })
  }
}

export function useLogin() {
  const signedIn = useSignedIn()
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => api<LoginResult>('/api/auth/login', { method: 'POST', body }),
    onSuccess: (res) => {
      if (!res.mfa_required) signedIn(res.user)
    },
  })
}

export function useLogin2fa() {
  const signedIn = useSignedIn()
  return useMutation({
    mutationFn: (body: { mfa_token: string; code: string }) => api<LoginResult>('/api/auth/login/2fa', { method: 'POST', body }),
    onSuccess: (res) => signedIn(res.user),
  })
}

export function useRegister() {
  return useMutation({
    mutationFn: (body: RegisterInput) => api<unknown>('/api/auth/register', { method: 'POST', body }),
  })
}

export function useVerifyEmail() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (token: string) => api<unknown>('/api/auth/verify-email', { method: 'POST', body: { token } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.me }),
  })
}

export function useResendVerification() {
  return useMutation({
    mutationFn: (email: string) => api<unknown>('/api/auth/resend-verification', { method: 'POST', body: { email } }),
  })
}

export function useForgotPassword() {
  return useMutation({
    mutationFn: (email: string) => api<unknown>('/api/auth/forgot-password', { method: 'POST', body: { email } }),
  })
}

export function useResetPassword() {
  return useMutation({
    mutationFn: (body: { token: string; password: string }) => api<unknown>('/api/auth/reset-password', { method: 'POST', body }),
  })
}
