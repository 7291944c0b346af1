import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { applyFieldErrors, errorMessage, fieldMessage } from '@/lib/errors'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useChangePassword } from '@/features/settings/api/settings'

const schema = z
  .object({
    current_password: z.string().min(1, 'validation.passwordRequired'),
    new_password: z.string().min(12, 'validation.passwordShort').max(128, 'validation.passwordLong'),
    confirm: z.string(),
  })
  .refine((v) => v.new_password === v.confirm, { path: ['confirm'], message: 'validation.passwordsDiffer' })
type Values = z.infer<typeof schema>

export function PasswordCard({ disabled }: { disabled: boolean }) {
  const { t } = useTranslation()
  const change = useChangePassword()
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { current_password: '', new_password: '', confirm: '' } })
  const { errors, isSubmitting } = form.formState

  async function onSubmit(v: Values) {
    try {
      await change.mutateAsync({ current_password: v.current_password, new_password: v.new_password })
      form.reset()
      toast.success(t('settings.password.changed'))
    } catch (err) {
      applyFieldErrors(err, form.setError, ['current_password', 'new_password'])
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('settings.password.title')}</CardTitle>
        <CardDescription>{t('settings.password.description')}</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4" noValidate onSubmit={form.handleSubmit(onSubmit)}>
          <Field id="pw-current" label={t('settings.password.current')} error={fieldMessage(t, errors.current_password?.message)}>
            <Input type="password" autoComplete="current-password" {...form.register('current_password')} />
          </Field>
          <Field id="pw-new" label={t('auth.fields.newPassword')} hint={t('auth.fields.passwordHint')} error={fieldMessage(t, errors.new_password?.message)}>
            <Input type="password" autoComplete="new-password" {...form.register('new_password')} />
          </Field>
          <Field id="pw-confirm" label={t('auth.fields.confirmPassword')} error={fieldMessage(t, errors.confirm?.message)}>
            <Input type="password" autoComplete="new-password" {...form.register('confirm')} />
          </Field>
          <div>
            <Button type="submit" disabled={isSubmitting || disabled}>
              {t('settings.password.submit')}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  )
}
