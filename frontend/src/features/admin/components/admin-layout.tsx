import { NavLink, Outlet } from 'react-router'
import { useTranslation } from 'react-i18next'
import { ActivityIcon, HistoryIcon, ScrollTextIcon, UsersIcon, WebhookIcon } from 'lucide-react'
import { cn } from '@/lib/utils'

const SECTIONS = [
  { to: 'audit', icon: ScrollTextIcon, key: 'audit' },
  { to: 'users', icon: UsersIcon, key: 'users' },
  { to: 'webhooks', icon: WebhookIcon, key: 'webhooks' },
  { to: 'impersonations', icon: HistoryIcon, key: 'impersonations' },
  { to: 'system', icon: ActivityIcon, key: 'system' },
] as const

/** The admin area: its own section navigation above the page (scrolls sideways on phones). */
export function AdminLayout() {
  const { t } = useTranslation()
  return (
    <div className="mx-auto grid w-full max-w-7xl min-w-0 gap-4 p-3 md:p-6">
      <nav aria-label={t('admin.nav.label')} className="-mx-3 overflow-x-auto px-3 md:mx-0 md:px-0">
        <ul className="flex w-max gap-1 rounded-lg bg-muted p-1">
          {SECTIONS.map(({ to, icon: Icon, key }) => (
            <li key={to}>
              <NavLink
                to={to}
                className={({ isActive }) =>
                  cn(
                    'inline-flex h-9 items-center gap-1.5 rounded-md px-3 text-sm font-medium transition-colors focus-visible:outline-none focus-visible:ring-[3px] focus-visible:ring-ring/60',
                    isActive ? 'bg-background text-foreground shadow-sm' : 'text-muted-foreground hover:text-foreground',
                  )
                }
              >
                <Icon aria-hidden className="size-4" />
                {t(`admin.nav.${key}`)}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Outlet />
    </div>
  )
}
