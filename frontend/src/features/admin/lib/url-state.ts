import { z } from 'zod'

// Page state kept in the URL (filters, page, sort): every value is validated on the way in, and a
// value that does not pass is dropped, so a hand-edited or stale link never turns into a 400.

export type Shape = Record<string, z.ZodType>
export type ParamValues<S extends Shape> = { [K in keyof S]?: z.output<S[K]> }

/** A trimmed, non-empty text of at most `max` characters. */
export const text = (max: number) => z.string().trim().min(1).max(max)

/** A whole number in a range, from its URL text. */
export const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

// An instant with its offset (the API refuses times without one: they would be ambiguous).
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/

/** An ISO 8601 date-time with a zone, such as 2026-11-29T10:00:00.000Z. */
export const instant = () => z.string().regex(ISO_WITH_ZONE).refine((v) => !Number.isNaN(Date.parse(v)))

/** Read the known, valid parameters of a shape from the URL. */
export function readParams<S extends Shape>(shape: S, params: URLSearchParams): ParamValues<S> {
  const out: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(shape)) {
    const raw = params.get(key)
    if (raw === null) continue
    const parsed = schema.safeParse(raw)
    if (parsed.success) out[key] = parsed.data
  }
  return out as ParamValues<S>
}

/** Write values as URL parameters, leaving out empty ones and those equal to their default. */
export function writeParams(
  values: Record<string, string | number | boolean | null | undefined>,
  defaults: Record<string, string | number> = {},
): URLSearchParams {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null || value === '' || value === false) continue
    if (defaults[key] !== undefined && String(defaults[key]) === String(value)) continue
    params.set(key, String(value))
  }
  return params
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** The value of an <input type="datetime-local"> (the browser's time zone) as an ISO instant. */
export function localInputToIso(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return undefined
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

/** An ISO instant as the value of an <input type="datetime-local"> in the browser's time zone. */
export function isoToLocalInput(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** Number of pages for a total (at least one, so "page 1 of 1" reads right for an empty list). */
export function pageCount(total: number | undefined, perPage: number): number {
  if (!total || perPage <= 0) return 1
  return Math.max(1, Math.ceil(total / perPage))
}
