import { useTranslation } from 'react-i18next'
import { useNavigate } from 'react-router'
import { useLogout, useMe } from '@/lib/session'
import { Skeleton } from '@/components/ui/skeleton'
import { PasswordCard } from '@/features/settings/components/password-card'
import { PreferencesCard } from '@/features/settings/components/preferences-card'
import { ProfileCard } from '@/features/settings/components/profile-card'
import { SessionsCard } from '@/features/settings/components/sessions-card'
import { TwoFactorCard } from '@/features/settings/components/two-factor-card'

export function SettingsPage() {
  const { t } = useTranslation()
  const { data: me } = useMe()
  const logout = useLogout()
  const navigate = useNavigate()
  if (!me) return <Skeleton className="m-6 h-64" />
  const impersonated = Boolean(me.impersonated_by)
  return (
    <div className="mx-auto grid w-full max-w-3xl gap-4 p-3 md:p-6">
      <h1 className="text-xl font-semibold">{t('settings.title')}</h1>
      <ProfileCard me={me} />
      <PreferencesCard />
      <PasswordCard disabled={impersonated} />
      <TwoFactorCard me={me} impersonated={impersonated} />
      <SessionsCard
        onLogoutAll={async () => {
          await logout.mutateAsync(true).catch(() => undefined)
          navigate('/login', { replace: true })
        }}
      />
    </div>
  )
}
