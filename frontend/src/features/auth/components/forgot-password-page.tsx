import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useForgotPassword } from '@/features/auth/api/auth'
import { forgotSchema } from '@/features/auth/lib/schemas'

export function ForgotPasswordPage() {
  const { t } = useTranslation()
  const forgot = useForgotPassword()
  const [sent, setSent] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const form = useForm<{ email: string }>({ resolver: zodResolver(forgotSchema), defaultValues: { email: '' } })

  async function onSubmit(v: { email: string }) {
    setError(null)
    try {
      await forgot.mutateAsync(v.email)
      setSent(true)
    } catch (err) {
      setError(errorMessage(t, err))
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle as="h1">{t('auth.forgot.title')}</CardTitle>
        <CardDescription>{t('auth.forgot.subtitle')}</CardDescription>
      </CardHeader>
      <CardContent>
        {sent ? (
          <Alert variant="success">{t('auth.forgot.sent')}</Alert>
        ) : (
          <form className="grid gap-4" noValidate onSubmit={form.handleSubmit(onSubmit)}>
            {error ? <Alert variant="destructive">{error}</Alert> : null}
            <Field id="forgot-email" label={t('auth.fields.email')} error={fieldMessage(t, form.formState.errors.email?.message)}>
              <Input type="email" autoComplete="email" {...form.register('email')} />
            </Field>
            <Button type="submit" disabled={form.formState.isSubmitting}>
              {t('auth.forgot.submit')}
            </Button>
          </form>
        )}
        <p className="mt-4 text-sm">
          <Link className="text-primary underline underline-offset-4 hover:decoration-2" to="/login">
            {t('auth.verify.toLogin')}
          </Link>
        </p>
      </CardContent>
    </Card>
  )
}
