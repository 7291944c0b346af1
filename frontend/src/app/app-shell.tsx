import { useTranslation } from 'react-i18next'
import { NavLink, Outlet, useNavigate } from 'react-router'
import { CandlestickChartIcon, LandmarkIcon, LogOutIcon, SettingsIcon, ShieldIcon, UserIcon, FileCheckIcon } from 'lucide-react'
import { useLogout, useMe } from '@/lib/session'
import { cn } from '@/lib/utils'
import { Button } from '@/components/ui/button'
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu'
import { AccountSwitcher } from '@/features/account/components/account-switcher'
import { FeedIndicator } from '@/app/feed-indicator'
import { ImpersonationBanner } from '@/app/impersonation-banner'
import { ThemeToggle } from '@/app/theme-toggle'

function NavItem({ to, icon: Icon, label, end, className }: { to: string; icon: typeof UserIcon; label: string; end?: boolean; className?: string }) {
  return (
    <NavLink
      to={to}
      end={end}
      className={({ isActive }) =>
        cn(
          className,
          'inline-flex h-9 items-center gap-1.5 rounded-md px-2 text-sm font-medium sm:px-2.5 transition-colors hover:bg-accent focus-visible:outline-none focus-visible:ring-[3px] focus-visible:ring-ring/60',
          isActive ? 'bg-accent text-accent-foreground' : 'text-muted-foreground',
        )
      }
    >
      <Icon aria-hidden className="size-4" />
      <span className="hidden md:inline">{label}</span>
      <span className="sr-only md:hidden">{label}</span>
    </NavLink>
  )
}

/** The signed-in layout: banner, header with navigation, account and feed state, then the page. */
export function AppShell() {
  const { t } = useTranslation()
  const { data: me } = useMe()
  const logout = useLogout()
  const navigate = useNavigate()
  if (!me) return null

  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-background focus:px-3 focus:py-2">
        {t('nav.skip')}
      </a>
      <ImpersonationBanner me={me} />
      <header className="sticky top-0 z-30 flex h-12 items-center gap-1 border-b bg-background/95 px-2 backdrop-blur sm:gap-2 sm:px-3">
        <span className="mr-1 flex items-center gap-1.5 font-semibold">
          <img src="/favicon.svg" alt="" className="size-6" />
          <span className="hidden lg:inline">{t('app.name')}</span>
        </span>
        <nav aria-label={t('nav.main')} className="flex items-center gap-0.5">
          <NavItem to="/" end icon={CandlestickChartIcon} label={t('nav.trade')} />
          <NavItem to="/funds" icon={LandmarkIcon} label={t('nav.funds')} />
          <NavItem to="/kyc" icon={FileCheckIcon} label={t('nav.kyc')} />
          <NavItem to="/settings" icon={SettingsIcon} label={t('nav.settings')} className="max-sm:hidden" />
          {me.role === 'admin' ? <NavItem to="/admin" icon={ShieldIcon} label={t('nav.admin')} /> : null}
        </nav>
        <div className="ml-auto flex items-center gap-0.5 sm:gap-2">
          <FeedIndicator />
          <AccountSwitcher />
          <ThemeToggle />
          <DropdownMenu>
            <DropdownMenuTrigger asChild>
              <Button variant="ghost" size="icon-sm" aria-label={t('nav.userMenu')}>
                <UserIcon aria-hidden />
              </Button>
            </DropdownMenuTrigger>
            <DropdownMenuContent align="end">
              <DropdownMenuLabel className="max-w-60 truncate">{me.email}</DropdownMenuLabel>
              <DropdownMenuSeparator />
              <DropdownMenuItem onSelect={() => navigate('/settings')}>
                <SettingsIcon aria-hidden />
                {t('nav.settings')}
              </DropdownMenuItem>
              <DropdownMenuItem
                onSelect={async () => {
                  await logout.mutateAsync(false).catch(() => undefined)
                  navigate('/login', { replace: true })
                }}
              >
                <LogOutIcon aria-hidden />
                {t('nav.logout')}
              </DropdownMenuItem>
            </DropdownMenuContent>
          </DropdownMenu>
        </div>
      </header>
      <main id="main" className="flex min-h-0 flex-1 flex-col">
        <Outlet />
      </main>
    </div>
  )
}
