import { useEffect, useRef } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useSearchParams } from 'react-router'
import { errorMessage } from '@/lib/errors'
import { Alert } from '@/components/ui/alert'
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card'
import { Spinner } from '@/components/ui/spinner'
import { useVerifyEmail } from '@/features/auth/api/auth'

/** Opened from the link in the e-mail: /verify-email?token=… */
export function VerifyEmailPage() {
  const { t } = useTranslation()
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const verify = useVerifyEmail()
  const sent = useRef(false)

  useEffect(() => {
    // Tokens are single use: send once even under StrictMode's double effects.
    if (!token || sent.current) return
    sent.current = true
    verify.mutate(token)
  }, [token, verify])

  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1">{t('auth.verify.title')}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3">
        {!token ? (
          <Alert variant="destructive">{t('auth.verify.missingToken')}</Alert>
        ) : verify.isPending || verify.isIdle ? (
          <p className="flex items-center gap-2">
            <Spinner /> {t('auth.verify.checking')}
          </p>
        ) : verify.isSuccess ? (
          <Alert variant="success">{t('auth.verify.success')}</Alert>
        ) : (
          <Alert variant="destructive">{errorMessage(t, verify.error)}</Alert>
        )}
        <Link className="text-sm text-primary underline underline-offset-4 hover:decoration-2" to="/login">
          {t('auth.verify.toLogin')}
        </Link>
      </CardContent>
    </Card>
  )
}
