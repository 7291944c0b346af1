import type { TFunction } from 'i18next'
import type { FieldValues, Path, UseFormSetError } from 'react-hook-form'
import i18n from 'i18next'
import { ApiError } from '@/lib/api-client'

// Server error codes are translated through errors.<code>; unknown codes fall back to the
// server's own message (never a stack trace: the server sends none).

export function errorMessage(t: TFunction, err: unknown): string {
  if (err instanceof ApiError) {
    const key = `errors.${err.code}`
    if (i18n.exists(key)) return t(key as never)
    if (err.status === 429) return t('errors.rate_limited')
    if (err.status >= 500) return t('errors.server_error')
    return err.message || t('errors.unknown')
  }
  return t('errors.unknown')
}

/** Put the server's per-field validation errors on the form's fields; true when any were set. */
export function applyFieldErrors<T extends FieldValues>(err: unknown, setError: UseFormSetError<T>, known: string[]): boolean {
  if (!(err instanceof ApiError) || !err.fields) return false
  let applied = false
  for (const [field, value] of Object.entries(err.fields)) {
    if (!known.includes(field)) continue
    const message = Array.isArray(value) ? String(value[0]) : typeof value === 'string' ? value : err.message
    setError(field as Path<T>, { type: 'server', message })
    applied = true
  }
  return applied
}

/** Translate a validation message that is an i18n key; plain server text passes through. */
export function fieldMessage(t: TFunction, message: string | undefined): string | undefined {
  if (!message) return undefined
  return i18n.exists(message) ? t(message as never) : message
}
