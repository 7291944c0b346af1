import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router'
import { applyFieldErrors, errorMessage, fieldMessage } from '@/lib/errors'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useRegister, useResendVerification } from '@/features/auth/api/auth'
import { registerSchema, type RegisterValues } from '@/features/auth/lib/schemas'

export function RegisterPage() {
  const { t } = useTranslation()
  const register = useRegister()
  const resend = useResendVerification()
  const [done, setDone] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const form = useForm<RegisterValues>({
    resolver: zodResolver(registerSchema),
    defaultValues: { first_name: '', last_name: '', email: '', country: '', phone: '', password: '', confirm: '', accept: false },
  })
  const { errors, isSubmitting } = form.formState
  const msg = (k: keyof RegisterValues) => fieldMessage(t, errors[k]?.message)

  async function onSubmit(v: RegisterValues) {
    setError(null)
    try {
      await register.mutateAsync({
        email: v.email,
        password: v.password,
        first_name: v.first_name,
        last_name: v.last_name,
        ...(v.country ? { country: v.country } : {}),
        ...(v.phone ? { phone: v.phone } : {}),
      })
      setDone(v.email)
    } catch (err) {
      if (!applyFieldErrors(err, form.setError, ['email', 'password', 'first_name', 'last_name', 'country', 'phone'])) {
        setError(errorMessage(t, err))
      } else {
        setError(errorMessage(t, err))
      }
    }
  }

  if (done) {
    return (
      <Card>
        <CardHeader>
          <CardTitle as="h1">{t('auth.register.checkMailTitle')}</CardTitle>
          <CardDescription>{t('auth.register.checkMail', { email: done })}</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-3">
          {resend.isSuccess ? <Alert variant="success">{t('auth.verify.resent')}</Alert> : null}
          <Button variant="outline" disabled={resend.isPending} onClick={() => resend.mutate(done)}>
            {t('auth.verify.resend')}
          </Button>
          <Link className="text-sm text-primary underline underline-offset-4 hover:decoration-2" to="/login">
            {t('auth.register.toLogin')}
          </Link>
        </CardContent>
      </Card>
    )
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1">{t('auth.register.title')}</CardTitle>
        <CardDescription>{t('auth.register.subtitle')}</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4" noValidate onSubmit={form.handleSubmit(onSubmit)}>
          {error ? <Alert variant="destructive">{error}</Alert> : null}
          <div className="grid gap-4 sm:grid-cols-2">
            <Field id="reg-first" label={t('auth.fields.firstName')} error={msg('first_name')}>
              <Input autoComplete="given-name" {...form.register('first_name')} />
            </Field>
            <Field id="reg-last" label={t('auth.fields.lastName')} error={msg('last_name')}>
              <Input autoComplete="family-name" {...form.register('last_name')} />
            </Field>
          </div>
          <Field id="reg-email" label={t('auth.fields.email')} error={msg('email')}>
            <Input type="email" autoComplete="email" {...form.register('email')} />
          </Field>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field id="reg-country" label={t('auth.fields.country')} hint={t('auth.fields.countryHint')} error={msg('country')}>
              <Input autoComplete="country" maxLength={2} {...form.register('country')} />
            </Field>
            <Field id="reg-phone" label={t('auth.fields.phone')} error={msg('phone')}>
              <Input type="tel" autoComplete="tel" {...form.register('phone')} />
            </Field>
          </div>
          <Field id="reg-password" label={t('auth.fields.password')} hint={t('auth.fields.passwordHint')} error={msg('password')}>
            <Input type="password" autoComplete="new-password" {...form.register('password')} />
          </Field>
          <Field id="reg-confirm" label={t('auth.fields.confirmPassword')} error={msg('confirm')}>
            <Input type="password" autoComplete="new-password" {...form.register('confirm')} />
          </Field>
          <div className="grid gap-1">
            <label className="flex items-start gap-2 text-sm">
              <input type="checkbox" className="mt-0.5 size-4 accent-[var(--primary)]" aria-invalid={errors.accept ? true : undefined} {...form.register('accept')} />
              <span>{t('auth.register.accept')}</span>
            </label>
            {errors.accept ? (
              <p role="alert" className="text-xs font-medium text-destructive">
                {msg('accept')}
              </p>
            ) : null}
          </div>
          <Button type="submit" disabled={isSubmitting}>
            {t('auth.register.submit')}
          </Button>
          <p className="text-sm">
            {t('auth.register.haveAccount')}{' '}
            <Link className="text-primary underline underline-offset-4 hover:decoration-2" to="/login">
              {t('auth.register.toLogin')}
            </Link>
          </p>
        </form>
      </CardContent>
    </Card>
  )
}
