import { useId, useState, type ReactNode } from 'react'
import { Link } from 'react-router'
import { useTranslation } from 'react-i18next'
import { ChevronLeftIcon, ChevronRightIcon, CircleAlertIcon, CircleCheckIcon, CircleMinusIcon, CircleSlashIcon } from 'lucide-react'
import { ApiError } from '@/lib/api-client'
import { errorMessage } from '@/lib/errors'
import { cn } from '@/lib/utils'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Skeleton } from '@/components/ui/skeleton'
import { formatCount } from '@/features/admin/lib/format-admin'
import { pageCount } from '@/features/admin/lib/url-state'

/** A page of the admin area: a heading, an optional description and actions, then the content. */
export function AdminPage({
  title,
  description,
  actions,
  children,
}: {
  title: string
  description?: ReactNode
  actions?: ReactNode
  children: ReactNode
}) {
  return (
    // min-w-0 on every child: a wide table scrolls inside its own region instead of widening the page.
    <section className="grid min-w-0 gap-4 [&>*]:min-w-0" aria-labelledby="admin-page-title">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div className="grid gap-1">
          <h1 id="admin-page-title" className="text-xl font-semibold">
            {title}
          </h1>
          {description ? <p className="text-sm text-muted-foreground">{description}</p> : null}
        </div>
        {actions ? <div className="flex flex-wrap items-center gap-2">{actions}</div> : null}
      </div>
      {children}
    </section>
  )
}

/** A failed admin request: the translated reason; a missing 2FA points to the settings page. */
export function QueryError({ error }: { error: unknown }) {
  const { t } = useTranslation()
  const needs2fa = error instanceof ApiError && error.code === 'admin_2fa_required'
  return (
    <Alert variant="destructive">
      <CircleAlertIcon aria-hidden />
      {errorMessage(t, error)}
      {needs2fa ? (
        <>
          {' '}
          <Link to="/settings" className="font-medium underline underline-offset-4">
            {t('admin.common.openSettings')}
          </Link>
        </>
      ) : null}
    </Alert>
  )
}

export function LoadingBlock() {
  const { t } = useTranslation()
  return (
    <div className="grid gap-2" aria-busy="true">
      <span className="sr-only">{t('common.loading')}</span>
      <Skeleton className="h-9" />
      <Skeleton className="h-9" />
      <Skeleton className="h-9" />
    </div>
  )
}

export function EmptyState({ children }: { children: ReactNode }) {
  return <p className="rounded-lg border border-dashed py-8 text-center text-sm text-muted-foreground">{children}</p>
}

/** An audit outcome with an icon and a word (never colour alone). */
export function OutcomeBadge({ outcome }: { outcome: string }) {
  const { t } = useTranslation()
  const Icon = outcome === 'success' ? CircleCheckIcon : outcome === 'failure' ? CircleAlertIcon : CircleSlashIcon
  const variant = outcome === 'success' ? 'up' : outcome === 'failure' ? 'down' : 'warning'
  return (
    <Badge variant={variant}>
      <Icon aria-hidden />
      {t(`admin.outcome.${outcome}` as 'admin.outcome.success', { defaultValue: outcome })}
    </Badge>
  )
}

/** A status word with an icon; the variant carries the same meaning as the word. */
export function StateBadge({ tone, label }: { tone: 'good' | 'bad' | 'warn' | 'neutral'; label: string }) {
  const Icon = tone === 'good' ? CircleCheckIcon : tone === 'bad' ? CircleAlertIcon : tone === 'warn' ? CircleAlertIcon : CircleMinusIcon
  const variant = tone === 'good' ? 'up' : tone === 'bad' ? 'down' : tone === 'warn' ? 'warning' : 'secondary'
  return (
    <Badge variant={variant}>
      <Icon aria-hidden />
      {label}
    </Badge>
  )
}

/** Label/value pairs (also the phone layout of a table row: the pairing survives for screen readers). */
export function DefinitionList({ items, className }: { items: [ReactNode, ReactNode][]; className?: string }) {
  return (
    <dl className={cn('grid grid-cols-[minmax(7rem,auto)_1fr] gap-x-3 gap-y-1.5 text-sm', className)}>
      {items.map(([label, value], i) => (
        <div key={i} className="contents">
          <dt className="text-muted-foreground">{label}</dt>
          <dd className="min-w-0 break-words">{value ?? '—'}</dd>
        </div>
      ))}
    </dl>
  )
}

/** Pretty-printed JSON in a keyboard-scrollable block. */
export function JsonBlock({ value, label }: { value: string; label: string }) {
  return (
    <pre
      tabIndex={0}
      aria-label={label}
      className="max-h-80 overflow-auto rounded-md border bg-muted p-3 font-mono text-xs leading-relaxed focus-visible:outline-2 focus-visible:outline-ring"
    >
      {value}
    </pre>
  )
}

/** A long hash in a monospace face that wraps anywhere. */
export function Mono({ children, className }: { children: ReactNode; className?: string }) {
  return <code className={cn('break-all font-mono text-xs', className)}>{children}</code>
}

/** Previous/next page with "page X of Y" and the total. */
export function Pagination({
  page,
  perPage,
  total,
  busy,
  onPage,
  label,
}: {
  page: number
  perPage: number
  total: number | undefined
  busy?: boolean
  onPage: (page: number) => void
  label: string
}) {
  const { t } = useTranslation()
  const pages = pageCount(total, perPage)
  return (
    <nav aria-label={label} className="flex flex-wrap items-center justify-end gap-2">
      <span className="mr-auto text-sm text-muted-foreground num">{t('admin.common.total', { count: total ?? 0, formatted: formatCount(total ?? 0) })}</span>
      <Button variant="outline" size="sm" disabled={page <= 1 || busy} onClick={() => onPage(page - 1)}>
        <ChevronLeftIcon aria-hidden />
        {t('admin.common.previous')}
      </Button>
      <span className="text-sm num" aria-live="polite">
        {t('admin.common.pageOf', { page: formatCount(page), pages: formatCount(pages) })}
      </span>
      <Button variant="outline" size="sm" disabled={page >= pages || busy} onClick={() => onPage(page + 1)}>
        {t('admin.common.next')}
        <ChevronRightIcon aria-hidden />
      </Button>
    </nav>
  )
}

/**
 * A confirmation dialog for a change that matters (disable a user, end sessions, rotate a secret):
 * an optional reason, then confirm; the dialog stays open with the error if the server refuses.
 */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  destructive,
  withReason,
  reasonLabel,
  onConfirm,
  children,
}: {
  open: boolean
  onOpenChange: (open: boolean) => void
  title: string
  description: ReactNode
  confirmLabel: string
  destructive?: boolean
  withReason?: boolean
  reasonLabel?: string
  onConfirm: (reason: string) => Promise<void>
  children?: ReactNode
}) {
  const { t } = useTranslation()
  const id = useId()
  const [reason, setReason] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  function change(next: boolean) {
    if (!next) {
      setReason('')
      setError(null)
    }
    onOpenChange(next)
  }

  async function confirm(e: React.FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await onConfirm(reason.trim())
      change(false)
    } catch (err) {
      setError(errorMessage(t, err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Dialog open={open} onOpenChange={change}>
      <DialogContent>
        <form onSubmit={confirm} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>{title}</DialogTitle>
            <DialogDescription>{description}</DialogDescription>
          </DialogHeader>
          {children}
          {withReason ? (
            <Field id={`${id}-reason`} label={reasonLabel ?? t('admin.common.reason')} hint={t('admin.common.reasonHint')}>
              <Input value={reason} maxLength={255} onChange={(e) => setReason(e.target.value)} autoComplete="off" />
            </Field>
          ) : null}
          {error ? (
            <p role="alert" className="text-sm font-medium text-destructive">
              {error}
            </p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => change(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" variant={destructive ? 'destructive' : 'default'} disabled={busy}>
              {confirmLabel}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}
