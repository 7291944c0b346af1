import { useTranslation } from 'react-i18next'
import { UserCogIcon } from 'lucide-react'
import type { Me } from '@/lib/types'

/** Shown for as long as an admin acts as this client; it has no close button on purpose. */
export function ImpersonationBanner({ me }: { me: Me }) {
  const { t } = useTranslation()
  if (!me.impersonated_by) return null
  return (
    <div role="alert" data-testid="impersonation-banner" className="flex items-center justify-center gap-2 bg-warning-bg px-3 py-1.5 text-center text-sm font-medium text-warning">
      <UserCogIcon aria-hidden className="size-4 shrink-0" />
      {t('impersonation.banner', { admin: me.impersonated_by, email: me.email })}
    </div>
  )
}
