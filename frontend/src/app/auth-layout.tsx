import { Outlet } from 'react-router'
import { useTranslation } from 'react-i18next'
import { ThemeToggle } from '@/app/theme-toggle'

/** Centered card for the signed-out pages. */
export function AuthLayout() {
  const { t } = useTranslation()
  return (
    <div className="flex min-h-dvh flex-col">
      <header className="flex items-center justify-between px-4 py-3">
        <span className="flex items-center gap-2 font-semibold">
          <img src="/favicon.svg" alt="" className="size-6" />
          {t('app.name')}
        </span>
        <ThemeToggle />
      </header>
      <main className="flex flex-1 items-start justify-center px-3 pb-10 pt-4 sm:items-center">
        <div className="w-full max-w-md">
          <Outlet />
        </div>
      </main>
    </div>
  )
}
