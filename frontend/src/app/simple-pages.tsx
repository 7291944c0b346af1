import { Link } from 'react-router'
import { useTranslation } from 'react-i18next'

export function NotFoundPage() {
  const { t } = useTranslation()
  return (
    <div className="mx-auto grid max-w-md gap-3 p-8 text-center">
      <h1 className="text-2xl font-semibold">{t('notFound.title')}</h1>
      <p className="text-muted-foreground">{t('notFound.text')}</p>
      <Link className="text-primary underline underline-offset-4 hover:decoration-2" to="/">
        {t('notFound.home')}
      </Link>
    </div>
  )
}

/** Placeholder of the admin area; the admin work mounts its pages under /admin in router.tsx. */
export function AdminHomePage() {
  const { t } = useTranslation()
  return (
    <div className="mx-auto grid max-w-3xl gap-3 p-6">
      <h1 className="text-xl font-semibold">{t('admin.title')}</h1>
      <p className="text-muted-foreground">{t('admin.placeholder')}</p>
    </div>
  )
}
