import i18n from 'i18next'

// Formatting that only the admin pages need. Units come from Intl, so they follow the language.

function locale(): string {
  return i18n.resolvedLanguage ?? i18n.language ?? 'en'
}

function unit(value: number, name: 'second' | 'minute' | 'hour' | 'day', digits = 0): string {
  return new Intl.NumberFormat(locale(), {
    style: 'unit',
    unit: name,
    unitDisplay: 'short',
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  }).format(value)
}

/** An age or a duration in seconds, short and readable: "0.4 sec", "12 sec", "3 min", "2 hr", "4 days"; "—" if unknown. */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—'
  if (seconds < 10) return unit(Math.round(seconds * 10) / 10, 'second', 1)
  if (seconds < 60) return unit(Math.floor(seconds), 'second')
  if (seconds < 3600) return unit(Math.floor(seconds / 60), 'minute')
  if (seconds < 86_400) return unit(Math.floor(seconds / 3600), 'hour')
  return unit(Math.floor(seconds / 86_400), 'day')
}

/** A whole count with grouping: "12,345". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  return new Intl.NumberFormat(locale()).format(value)
}

/** A size in bytes: "183 kB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—'
  const [value, name] =
    bytes >= 1_000_000 ? [bytes / 1_000_000, 'megabyte'] : bytes >= 1000 ? [bytes / 1000, 'kilobyte'] : [bytes, 'byte']
  return new Intl.NumberFormat(locale(), { style: 'unit', unit: name, unitDisplay: 'short', maximumFractionDigits: 1 }).format(value)
}

/** "type:id" of an actor or a target, or just one of them; null when there is neither. */
export function typedId(type: string | null | undefined, id: string | null | undefined): string | null {
  if (type && id) return `${type}:${id}`
  return id || type || null
}

/** Which of the chain verifier's reasons this is, for a translated explanation (unknown text is shown as is). */
export function chainReason(reason: string | null | undefined): 'altered' | 'relinked' | null {
  if (!reason) return null
  if (reason.startsWith('row content does not match')) return 'altered'
  if (reason.startsWith('previous hash does not match')) return 'relinked'
  return null
}

/** JSON for reading: sorted keys, two-space indent (the audit details, a webhook payload). */
export function prettyJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort)
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      )
    }
    return v
  }
  return JSON.stringify(sort(value), null, 2) ?? ''
}

/** Event patterns typed by an admin ("deposit.*, user.created"): trimmed, de-duplicated, empty ones dropped. */
export function parseEventPatterns(text: string): string[] {
  const seen = new Set<string>()
  for (const part of text.split(/[\s,]+/)) {
    const p = part.trim()
    if (p) seen.add(p)
  }
  return [...seen]
}
