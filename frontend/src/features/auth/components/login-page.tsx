import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { useTranslation } from 'react-i18next'
import { Link, useLocation, useNavigate } from 'react-router'
import { ApiError } from '@/lib/api-client'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { InputOTP, InputOTPGroup, InputOTPSlot } from '@/components/ui/input-otp'
import { useLogin, useLogin2fa, useResendVerification } from '@/features/auth/api/auth'
import { loginSchema, type LoginValues } from '@/features/auth/lib/schemas'

function safeNext(value: unknown): string {
  // Only same-app paths: never an open redirect.
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/'
}

export function LoginPage() {
  const { t } = useTranslation()
  const navigate = useNavigate()
  const location = useLocation()
  const next = safeNext((location.state as { from?: string } | null)?.from)
  const login = useLogin()
  const [mfaToken, setMfaToken] = useState<string | null>(null)
  const [unverifiedEmail, setUnverifiedEmail] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const form = useForm<LoginValues>({ resolver: zodResolver(loginSchema), defaultValues: { email: '', password: '' } })
  const { errors, isSubmitting } = form.formState

  async function onSubmit(values: LoginValues) {
    setError(null)
    setUnverifiedEmail(null)
    try {
      const res = await login.mutateAsync(values)
      if (res.mfa_required && res.mfa_token) setMfaToken(res.mfa_token)
      else navigate(next, { replace: true })
    } catch (err) {
      if (err instanceof ApiError && err.code === 'email_not_verified') setUnverifiedEmail(values.email)
      setError(errorMessage(t, err))
    }
  }

  if (mfaToken) return <TwoFactorStep mfaToken={mfaToken} onDone={() => navigate(next, { replace: true })} onBack={() => setMfaToken(null)} />

  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1">{t('auth.login.title')}</CardTitle>
        <CardDescription>{t('auth.login.subtitle')}</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4" noValidate onSubmit={form.handleSubmit(onSubmit)}>
          {error ? <Alert variant="destructive">{error}</Alert> : null}
          {unverifiedEmail ? <ResendVerification email={unverifiedEmail} /> : null}
          <Field id="login-email" label={t('auth.fields.email')} error={fieldMessage(t, errors.email?.message)}>
            <Input type="email" autoComplete="username" {...form.register('email')} />
          </Field>
          <Field id="login-password" label={t('auth.fields.password')} error={fieldMessage(t, errors.password?.message)}>
            <Input type="password" autoComplete="current-password" {...form.register('password')} />
          </Field>
          <Button type="submit" disabled={isSubmitting}>
            {t('auth.login.submit')}
          </Button>
          <div className="flex flex-wrap justify-between gap-2 text-sm">
            <Link className="text-primary underline underline-offset-4 hover:decoration-2" to="/forgot-password">
              {t('auth.login.forgot')}
            </Link>
            <Link className="text-primary underline underline-offset-4 hover:decoration-2" to="/register">
              {t('auth.login.register')}
            </Link>
          </div>
        </form>
      </CardContent>
    </Card>
  )
}

function ResendVerification({ email }: { email: string }) {
  const { t } = useTranslation()
  const resend = useResendVerification()
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      {resend.isSuccess ? (
        <span role="status">{t('auth.verify.resent')}</span>
      ) : (
        <Button variant="link" className="h-auto p-0" disabled={resend.isPending} onClick={() => resend.mutate(email)}>
          {t('auth.verify.resend')}
        </Button>
      )}
    </div>
  )
}

function TwoFactorStep({ mfaToken, onDone, onBack }: { mfaToken: string; onDone: () => void; onBack: () => void }) {
  const { t } = useTranslation()
  const verify = useLogin2fa()
  const [code, setCode] = useState('')
  const [useBackup, setUseBackup] = useState(false)
  const [error, setError] = useState<string | null>(null)

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    const trimmed = code.trim()
    if (!(useBackup ? /^[A-Za-z0-9-]{8,20}$/ : /^\d{6}$/).test(trimmed)) {
      setError(t('validation.code'))
      return
    }
    setError(null)
    try {
      await verify.mutateAsync({ mfa_token: mfaToken, code: trimmed })
      onDone()
    } catch (err) {
      setError(errorMessage(t, err))
      setCode('')
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1">{t('auth.twoFactor.title')}</CardTitle>
        <CardDescription>{useBackup ? t('auth.twoFactor.backupSubtitle') : t('auth.twoFactor.subtitle')}</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4" noValidate onSubmit={submit}>
          {error ? <Alert variant="destructive">{error}</Alert> : null}
          {useBackup ? (
            <Field id="mfa-backup" label={t('auth.twoFactor.backupCode')}>
              <Input autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
            </Field>
          ) : (
            <div className="grid gap-1.5">
              <label htmlFor="mfa-code" className="text-sm font-medium">
                {t('auth.twoFactor.code')}
              </label>
              <InputOTP id="mfa-code" maxLength={6} inputMode="numeric" autoComplete="one-time-code" autoFocus value={code} onChange={setCode}>
                <InputOTPGroup>
                  {[0, 1, 2, 3, 4, 5].map((i) => (
                    <InputOTPSlot key={i} index={i} />
                  ))}
                </InputOTPGroup>
              </InputOTP>
            </div>
          )}
          <Button type="submit" disabled={verify.isPending}>
            {t('auth.twoFactor.submit')}
          </Button>
          <div className="flex flex-wrap justify-between gap-2 text-sm">
            <Button variant="link" className="h-auto p-0" onClick={() => { setUseBackup((b) => !b); setCode(''); setError(null) }}>
              {useBackup ? t('auth.twoFactor.useApp') : t('auth.twoFactor.useBackup')}
            </Button>
            <Button variant="link" className="h-auto p-0" onClick={onBack}>
              {t('auth.twoFactor.back')}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  )
}
