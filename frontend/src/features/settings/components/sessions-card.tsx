import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { MonitorSmartphoneIcon } from 'lucide-react'
import { errorMessage } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Skeleton } from '@/components/ui/skeleton'
import { useRevokeSession, useSessions } from '@/features/settings/api/settings'

function describeAgent(ua: string | null | undefined): string {
  if (!ua) return '—'
  const browser = /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Firefox\//.test(ua) ? 'Firefox' : /Safari\//.test(ua) ? 'Safari' : ''
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : ''
  return [browser, os].filter(Boolean).join(' · ') || ua.slice(0, 60)
}

export function SessionsCard({ onLogoutAll }: { onLogoutAll: () => void }) {
  const { t } = useTranslation()
  const { data = [], isLoading } = useSessions()
  const revoke = useRevokeSession()

  async function doRevoke(id: string) {
    try {
      await revoke.mutateAsync(id)
      toast.success(t('settings.sessions.revoked'))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('settings.sessions.title')}</CardTitle>
        <CardDescription>{t('settings.sessions.description')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {isLoading ? (
          <Skeleton className="h-20" />
        ) : (
          <ul aria-label={t('settings.sessions.title')} className="grid gap-2">
            {data.map((s) => (
              <li key={s.id} className="flex flex-wrap items-center gap-3 rounded-lg border p-3 text-sm">
                <MonitorSmartphoneIcon aria-hidden className="size-5 text-muted-foreground" />
                <div className="min-w-0 flex-1">
                  <p className="font-medium">
                    {describeAgent(s.user_agent)} {s.current ? <Badge variant="secondary">{t('settings.sessions.current')}</Badge> : null}
                  </p>
                  <p className="text-xs text-muted-foreground">
                    {s.ip ?? '—'} · {t('settings.sessions.lastSeen', { when: formatDateTime(s.last_seen_at ?? s.created_at) })}
                  </p>
                </div>
                {!s.current ? (
                  <Button size="sm" variant="outline" disabled={revoke.isPending} onClick={() => doRevoke(s.id)} aria-label={t('settings.sessions.revokeAria', { device: describeAgent(s.user_agent) })}>
                    {t('settings.sessions.revoke')}
                  </Button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
        <div>
          <Button variant="outline" onClick={onLogoutAll}>
            {t('settings.sessions.logoutAll')}
          </Button>
        </div>
      </CardContent>
    </Card>
  )
}
