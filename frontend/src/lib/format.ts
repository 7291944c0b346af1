import i18n from 'i18next'
import { fixed, toBig, type DecimalLike } from '@/lib/decimal'

// Intl formats decimal *strings* exactly (Intl.NumberFormat v3), so no float ever shows money.
type NumericString = `${number}` | number

function locale(): string {
  return i18n.resolvedLanguage ?? i18n.language ?? 'en'
}

const cache = new Map<string, Intl.NumberFormat>()
function nf(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale()}|${JSON.stringify(options)}`
  let fmt = cache.get(key)
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale(), options)
    cache.set(key, fmt)
  }
  return fmt
}

function asNumeric(value: string): NumericString {
  return value as NumericString
}

/** A price with the instrument's digits: "1.08234". */
export function formatPrice(value: DecimalLike | null | undefined, digits: number): string {
  const s = value === null || value === undefined ? '' : fixed(value, digits)
  if (!s) return '—'
  return nf({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(asNumeric(s))
}

/** An amount of money in a currency: "$10,000.00". */
export function formatMoney(value: DecimalLike | null | undefined, currency = 'USD', digits = 2): string {
  const s = value === null || value === undefined ? '' : fixed(value, digits)
  if (!s) return '—'
  return nf({ style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(
    asNumeric(s),
  )
}

/** A signed amount that never relies on colour: "+12.50", "−3.20", "0.00". */
export function formatSigned(value: DecimalLike | null | undefined, digits = 2): string {
  const b = toBig(value ?? null)
  if (!b) return '—'
  const s = b.round(digits).toFixed(digits)
  const abs = s.replace('-', '')
  const body = nf({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(asNumeric(abs))
  if (b.round(digits).eq(0)) return body
  return b.gt(0) ? `+${body}` : `\u2212${body}`
}

/** Volume in lots with the step's decimals: "0.10". */
export function formatVolume(value: DecimalLike | null | undefined, digits = 2): string {
  const s = value === null || value === undefined ? '' : fixed(value, digits)
  return s ? nf({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(asNumeric(s)) : '—'
}

/** A percentage such as a margin level: "245.31 %"; "—" when undefined. */
export function formatPercent(value: DecimalLike | null | undefined, digits = 2): string {
  const s = value === null || value === undefined ? '' : fixed(value, digits)
  if (!s) return '—'
  return `${nf({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(asNumeric(s))} %`
}

/** The sign of a value as a word for assistive tech and icons: up, down or flat. */
export function direction(value: DecimalLike | null | undefined): 'up' | 'down' | 'flat' {
  const b = toBig(value ?? null)
  if (!b || b.eq(0)) return 'flat'
  return b.gt(0) ? 'up' : 'down'
}

/** A date-time in the user's locale and time zone. */
export function formatDateTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  const d = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(d.getTime())) return '—'
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(d)
}

/** A time of day (for quote timestamps). */
export function formatTime(ms: number | null | undefined): string {
  if (!ms) return '—'
  return new Intl.DateTimeFormat(locale(), { timeStyle: 'medium' }).format(new Date(ms))
}
