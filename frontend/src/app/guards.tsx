import { Navigate, Outlet, useLocation } from 'react-router'
import { useTranslation } from 'react-i18next'
import { useMe } from '@/lib/session'
import { Spinner } from '@/components/ui/spinner'
import { Alert } from '@/components/ui/alert'
import { useLiveEvents } from '@/app/live-events'

function FullPageSpinner() {
  const { t } = useTranslation()
  return (
    <div className="flex min-h-dvh items-center justify-center">
      <Spinner className="size-6" label={t('common.loading')} />
    </div>
  )
}

/** Signed-in routes: unknown users go to /login (and come back afterwards). */
export function RequireAuth() {
  const { data: me, isLoading, isError } = useMe()
  const location = useLocation()
  const { t } = useTranslation()
  useLiveEvents(Boolean(me))
  if (isLoading) return <FullPageSpinner />
  if (isError)
    return (
      <div className="mx-auto max-w-md p-6">
        <Alert variant="destructive">{t('errors.server_error')}</Alert>
      </div>
    )
  if (!me) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />
  return <Outlet />
}

/** Signed-out routes: a signed-in user goes to the dashboard. */
export function RedirectIfAuthed() {
  const { data: me, isLoading } = useMe()
  if (isLoading) return <FullPageSpinner />
  if (me) return <Navigate to="/" replace />
  return <Outlet />
}

/** The admin area (filled in by the admin work): admins only. */
export function RequireAdmin() {
  const { data: me } = useMe()
  if (me?.role !== 'admin') return <Navigate to="/" replace />
  return <Outlet />
}
