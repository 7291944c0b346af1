import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '@/lib/api-client'
import type {
  AdminUser,
  AuditRow,
  ChainState,
  Impersonation,
  Paged,
  SystemStatus,
  UserDetail,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookEvent,
  WebhookEventDetail,
} from '@/features/admin/api/types'

type Query = Record<string, string | number | boolean | undefined>

/** Every query key of the admin area (a change invalidates exactly what it touched). */
export const adminKeys = {
  all: ['admin'] as const,
  audit: (query: Query) => ['admin', 'audit', query] as const,
  auditRow: (id: number) => ['admin', 'audit-row', id] as const,
  chain: ['admin', 'chain'] as const,
  users: (query: Query) => ['admin', 'users', query] as const,
  user: (id: number) => ['admin', 'user', id] as const,
  impersonations: (query: Query) => ['admin', 'impersonations', query] as const,
  system: ['admin', 'system'] as const,
  endpoints: ['admin', 'webhooks', 'endpoints'] as const,
  events: (query: Query) => ['admin', 'webhooks', 'events', query] as const,
  event: (id: number) => ['admin', 'webhooks', 'event', id] as const,
  webhooks: ['admin', 'webhooks'] as const,
}

// --- audit log ---------------------------------------------------------------------------------

export function useAuditPage(query: Query) {
  return useQuery({
    queryKey: adminKeys.audit(query),
    queryFn: ({ signal }) => api<Paged<AuditRow>>('/api/admin/audit', { query, signal }),
    placeholderData: keepPreviousData,
  })
}

export function useAuditRow(id: number | undefined) {
  return useQuery({
    queryKey: adminKeys.auditRow(id ?? 0),
    queryFn: () => api<AuditRow>(`/api/admin/audit/${id}`),
    enabled: id !== undefined,
  })
}

/** The hash chain's state; the server re-walks the chain at most every few seconds. */
export function useChainState() {
  return useQuery({
    queryKey: adminKeys.chain,
    queryFn: () => api<ChainState>('/api/admin/audit/chain'),
    refetchInterval: 15_000,
  })
}

// --- users -------------------------------------------------------------------------------------

export function useUsers(query: Query) {
  return useQuery({
    queryKey: adminKeys.users(query),
    queryFn: ({ signal }) => api<Paged<AdminUser>>('/api/admin/users', { query, signal }),
    placeholderData: keepPreviousData,
  })
}

/** One user in full; the accounts' live figures come from the engine, so look again every few seconds. */
export function useUserDetail(id: number) {
  return useQuery({
    queryKey: adminKeys.user(id),
    queryFn: () => api<UserDetail>(`/api/admin/users/${id}`),
    enabled: Number.isInteger(id) && id > 0,
    refetchInterval: 5_000,
  })
}

function useAdminMutation<TVars, TResult>(fn: (vars: TVars) => Promise<TResult>, invalidate: readonly unknown[][]) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: fn,
    onSettled: () => Promise.all(invalidate.map((queryKey) => qc.invalidateQueries({ queryKey }))),
  })
}

export function useSetUserStatus(id: number) {
  return useAdminMutation(
    ({ status, reason }: { status: 'disabled' | 'active'; reason: string }) =>
      api<{ id: number; status: string }>(`/api/admin/users/${id}/${status === 'disabled' ? 'disable' : 'enable'}`, {
        method: 'POST',
        body: reason ? { reason } : {},
      }),
    [[...adminKeys.user(id)], ['admin', 'users'], [...adminKeys.chain]],
  )
}

export function useEndSessions(id: number) {
  return useAdminMutation(
    () => api<{ ended: number }>(`/api/admin/users/${id}/end-sessions`, { method: 'POST' }),
    [[...adminKeys.user(id)]],
  )
}

// --- impersonation history and system status ---------------------------------------------------

export function useImpersonations(query: Query) {
  return useQuery({
    queryKey: adminKeys.impersonations(query),
    queryFn: ({ signal }) => api<Paged<Impersonation>>('/api/admin/impersonations', { query, signal }),
    placeholderData: keepPreviousData,
  })
}

export const SYSTEM_REFRESH_MS = 3_000

export function useSystemStatus(autoRefresh: boolean) {
  return useQuery({
    queryKey: adminKeys.system,
    queryFn: () => api<SystemStatus>('/api/admin/system'),
    refetchInterval: autoRefresh ? SYSTEM_REFRESH_MS : false,
  })
}

// --- webhooks ----------------------------------------------------------------------------------

export function useEndpoints() {
  return useQuery({
    queryKey: adminKeys.endpoints,
    queryFn: async () => (await api<{ items: WebhookEndpoint[] }>('/api/admin/webhooks/endpoints')).items,
  })
}

export function useAddEndpoint() {
  return useAdminMutation(
    (body: { url: string; events: string[]; description: string }) =>
      api<WebhookEndpointWithSecret>('/api/admin/webhooks/endpoints', { method: 'POST', body }),
    [[...adminKeys.endpoints]],
  )
}

export function useSetEndpointEnabled() {
  return useAdminMutation(
    ({ id, enabled, reason }: { id: number; enabled: boolean; reason?: string }) =>
      api<WebhookEndpoint>(`/api/admin/webhooks/endpoints/${id}/${enabled ? 'enable' : 'disable'}`, {
        method: 'POST',
        body: enabled ? undefined : reason ? { reason } : {},
      }),
    [[...adminKeys.endpoints]],
  )
}

export function useRotateSecret() {
  return useAdminMutation(
    ({ id, overlapHours }: { id: number; overlapHours: number }) =>
      api<WebhookEndpointWithSecret>(`/api/admin/webhooks/endpoints/${id}/rotate-secret`, {
        method: 'POST',
        body: { overlap_hours: overlapHours },
      }),
    [[...adminKeys.endpoints]],
  )
}

export function useWebhookEvents(query: Query) {
  return useQuery({
    queryKey: adminKeys.events(query),
    queryFn: ({ signal }) => api<Paged<WebhookEvent>>('/api/admin/webhooks/events', { query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  })
}

/** One event with every delivery's attempt log; refreshed while deliveries are still under way. */
export function useWebhookEvent(id: number | undefined) {
  return useQuery({
    queryKey: adminKeys.event(id ?? 0),
    queryFn: () => api<WebhookEventDetail>(`/api/admin/webhooks/events/${id}`),
    enabled: id !== undefined,
    refetchInterval: (q) =>
      q.state.data?.deliveries.some((d) => d.status === 'pending' || d.status === 'retrying') ? 2_000 : false,
  })
}

export function useRedeliver() {
  return useAdminMutation(
    ({ eventId, endpointId }: { eventId: number; endpointId?: number }) =>
      api<{ queued: number }>(`/api/admin/webhooks/events/${eventId}/redeliver`, {
        method: 'POST',
        body: endpointId ? { endpoint_id: endpointId } : {},
      }),
    [[...adminKeys.webhooks]],
  )
}

export function useRedeliverFailed() {
  return useAdminMutation(
    ({ since, endpointId }: { since: string; endpointId?: number }) =>
      api<{ queued: number }>('/api/admin/webhooks/redeliver-failed', {
        method: 'POST',
        body: endpointId ? { since, endpoint_id: endpointId } : { since },
      }),
    [[...adminKeys.webhooks]],
  )
}
