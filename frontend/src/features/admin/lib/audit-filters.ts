import { z } from 'zod'
import { instant, int, readParams, text, writeParams } from '@/features/admin/lib/url-state'

// The audit log's state in the URL: the filters the API takes (same names), page, page size, sort
// and the row whose details are open. The CSV link carries the same filters.

export const ACTOR_TYPES = ['user', 'admin', 'crm', 'crm_admin', 'system', 'engine', 'anonymous'] as const
export const OUTCOMES = ['success', 'failure', 'denied'] as const
export const SORT_FIELDS = ['id', 'created_at', 'action', 'actor_id', 'outcome', 'ip'] as const
export const PAGE_SIZES = [25, 50, 100, 200] as const
export const DEFAULT_SORT = '-id'
export const DEFAULT_PER_PAGE = 50

export type SortField = (typeof SORT_FIELDS)[number]
export type AuditSort = SortField | `-${SortField}`

const SORTS = SORT_FIELDS.flatMap((f) => [f, `-${f}`]) as [AuditSort, ...AuditSort[]]

export const FILTER_SHAPE = {
  actor: text(128),
  actor_type: z.enum(ACTOR_TYPES),
  action: text(64),
  target: text(160),
  outcome: z.enum(OUTCOMES),
  ip: text(64),
  impersonator: text(128),
  from: instant(),
  to: instant(),
  q: text(200),
}

const STATE_SHAPE = {
  ...FILTER_SHAPE,
  page: int(1, 100_000),
  per_page: int(1, 500).refine((n) => (PAGE_SIZES as readonly number[]).includes(n)),
  sort: z.enum(SORTS),
  row: int(1, Number.MAX_SAFE_INTEGER),
}

export const FILTER_KEYS = Object.keys(FILTER_SHAPE) as (keyof typeof FILTER_SHAPE)[]

export type AuditFilters = Partial<Record<keyof typeof FILTER_SHAPE, string>>

export interface AuditState {
  filters: AuditFilters
  page: number
  perPage: number
  sort: AuditSort
  /** The audit row whose details are open, if any. */
  row?: number
}

/** The audit log's state from the URL's search parameters (invalid values are ignored). */
export function parseAuditParams(params: URLSearchParams): AuditState {
  const v = readParams(STATE_SHAPE, params)
  const filters: AuditFilters = {}
  for (const key of FILTER_KEYS) {
    const value = v[key]
    if (value !== undefined) filters[key] = value
  }
  return {
    filters,
    page: v.page ?? 1,
    perPage: v.per_page ?? DEFAULT_PER_PAGE,
    sort: v.sort ?? DEFAULT_SORT,
    row: v.row,
  }
}

/** The URL search parameters of a state (defaults left out, so a plain /admin/audit is the default view). */
export function auditParams(state: AuditState): URLSearchParams {
  return writeParams(
    { ...state.filters, page: state.page, per_page: state.perPage, sort: state.sort, row: state.row },
    { page: 1, per_page: DEFAULT_PER_PAGE, sort: DEFAULT_SORT },
  )
}

/** The API query of a state: the filters plus page, page size and sort. */
export function auditApiQuery(state: AuditState): Record<string, string | number> {
  const query: Record<string, string | number> = { page: state.page, per_page: state.perPage, sort: state.sort }
  for (const key of FILTER_KEYS) {
    const value = state.filters[key]
    if (value) query[key] = value
  }
  return query
}

/** The CSV export of exactly the filtered rows (every page): the server streams it as a download. */
export function auditCsvHref(filters: AuditFilters): string {
  const qs = writeParams(filters).toString()
  return qs ? `/api/admin/audit.csv?${qs}` : '/api/admin/audit.csv'
}

/** The next sort when a column header is activated: descending first, then ascending. */
export function nextSort(current: AuditSort, field: SortField): AuditSort {
  if (current === `-${field}`) return field
  return `-${field}`
}

/** How a column is sorted now, for aria-sort. */
export function sortDirection(current: AuditSort, field: SortField): 'ascending' | 'descending' | 'none' {
  if (current === field) return 'ascending'
  if (current === `-${field}`) return 'descending'
  return 'none'
}

/** Filters from the form's raw values: trimmed, empty ones dropped, invalid ones reported by field. */
export function filtersFromForm(raw: Record<string, string>): { filters: AuditFilters; invalid: (keyof AuditFilters)[] } {
  const filters: AuditFilters = {}
  const invalid: (keyof AuditFilters)[] = []
  for (const key of FILTER_KEYS) {
    const value = (raw[key] ?? '').trim()
    if (!value) continue
    const parsed = FILTER_SHAPE[key].safeParse(value)
    if (parsed.success) filters[key] = parsed.data
    else invalid.push(key)
  }
  if (filters.from && filters.to && Date.parse(filters.from) >= Date.parse(filters.to)) invalid.push('to')
  return { filters, invalid }
}

/** The number of active filters (shown on the filter toggle on phones). */
export function activeFilterCount(filters: AuditFilters): number {
  return FILTER_KEYS.filter((k) => filters[k]).length
}
