import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { useTranslation } from 'react-i18next'
import { Link, useSearchParams } from 'react-router'
import { applyFieldErrors, errorMessage, fieldMessage } from '@/lib/errors'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useResetPassword } from '@/features/auth/api/auth'
import { resetSchema, type ResetValues } from '@/features/auth/lib/schemas'

/** Opened from the reset (or set-password) e-mail: /reset-password?token=… */
export function ResetPasswordPage() {
  const { t } = useTranslation()
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const reset = useResetPassword()
  const [done, setDone] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const form = useForm<ResetValues>({ resolver: zodResolver(resetSchema), defaultValues: { password: '', confirm: '' } })
  const { errors } = form.formState

  async function onSubmit(v: ResetValues) {
    setError(null)
    try {
      await reset.mutateAsync({ token, password: v.password })
      setDone(true)
    } catch (err) {
      applyFieldErrors(err, form.setError, ['password'])
      setError(errorMessage(t, err))
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1">{t('auth.reset.title')}</CardTitle>
        <CardDescription>{t('auth.reset.subtitle')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {!token ? (
          <Alert variant="destructive">{t('auth.verify.missingToken')}</Alert>
        ) : done ? (
          <Alert variant="success">{t('auth.reset.done')}</Alert>
        ) : (
          <form className="grid gap-4" noValidate onSubmit={form.handleSubmit(onSubmit)}>
            {error ? <Alert variant="destructive">{error}</Alert> : null}
            <Field id="reset-password" label={t('auth.fields.newPassword')} hint={t('auth.fields.passwordHint')} error={fieldMessage(t, errors.password?.message)}>
              <Input type="password" autoComplete="new-password" {...form.register('password')} />
            </Field>
            <Field id="reset-confirm" label={t('auth.fields.confirmPassword')} error={fieldMessage(t, errors.confirm?.message)}>
              <Input type="password" autoComplete="new-password" {...form.register('confirm')} />
            </Field>
            <Button type="submit" disabled={form.formState.isSubmitting}>
              {t('auth.reset.submit')}
            </Button>
          </form>
        )}
        <Link className="text-sm text-primary underline underline-offset-4 hover:decoration-2" to="/login">
          {t('auth.verify.toLogin')}
        </Link>
      </CardContent>
    </Card>
  )
}
