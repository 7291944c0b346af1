import { z } from 'zod'
import { instant, int, readParams, text, writeParams } from '@/features/admin/lib/url-state'

// URL state of the admin lists other than the audit log (users, webhook events, impersonations).

export const USER_ROLES = ['client', 'admin'] as const
export const USER_STATUSES = ['active', 'disabled'] as const
export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'] as const
export const LIST_PER_PAGE = 25

const page = int(1, 100_000)

const USERS = { q: text(200), role: z.enum(USER_ROLES), status: z.enum(USER_STATUSES), page }
const EVENTS = {
  type: text(64),
  status: z.enum(DELIVERY_STATUSES),
  endpoint_id: int(1, Number.MAX_SAFE_INTEGER),
  since: instant(),
  event: int(1, Number.MAX_SAFE_INTEGER),
  page,
}
const IMPERSONATIONS = { admin_id: text(128), user_id: int(1, Number.MAX_SAFE_INTEGER), page }

export type UserListState = ReturnType<typeof parseUserParams>
export type EventListState = ReturnType<typeof parseEventParams>
export type ImpersonationListState = ReturnType<typeof parseImpersonationParams>

export function parseUserParams(params: URLSearchParams) {
  const v = readParams(USERS, params)
  return { q: v.q, role: v.role, status: v.status, page: v.page ?? 1 }
}

export function parseEventParams(params: URLSearchParams) {
  const v = readParams(EVENTS, params)
  return { type: v.type, status: v.status, endpoint_id: v.endpoint_id, since: v.since, event: v.event, page: v.page ?? 1 }
}

export function parseImpersonationParams(params: URLSearchParams) {
  const v = readParams(IMPERSONATIONS, params)
  return { admin_id: v.admin_id, user_id: v.user_id, page: v.page ?? 1 }
}

/** URL parameters of any of these states (page 1 left out). */
export function listParams(state: Record<string, string | number | undefined>): URLSearchParams {
  return writeParams(state, { page: 1 })
}

/** The API query of a list state: what the URL holds minus UI-only keys, plus the page size. */
export function listApiQuery(state: Record<string, string | number | undefined>, uiOnly: string[] = []): Record<string, string | number> {
  const query: Record<string, string | number> = { per_page: LIST_PER_PAGE }
  for (const [key, value] of Object.entries(state)) {
    if (value !== undefined && value !== '' && !uiOnly.includes(key)) query[key] = value
  }
  return query
}
