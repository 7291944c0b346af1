import { useForm } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { z } from 'zod'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { applyFieldErrors, errorMessage, fieldMessage } from '@/lib/errors'
import type { Me } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useUpdateProfile } from '@/features/settings/api/settings'

const schema = z.object({
  first_name: z.string().trim().min(1, 'validation.required').max(100, 'validation.tooLong'),
  last_name: z.string().trim().min(1, 'validation.required').max(100, 'validation.tooLong'),
  phone: z
    .string()
    .trim()
    .refine((v) => v === '' || /^\+?[0-9 ()-]{6,20}$/.test(v), 'validation.phone'),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .refine((v) => v === '' || /^[A-Z]{2}$/.test(v), 'validation.country'),
})
type Values = z.infer<typeof schema>

export function ProfileCard({ me }: { me: Me }) {
  const { t } = useTranslation()
  const update = useUpdateProfile()
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { first_name: me.first_name, last_name: me.last_name, phone: me.phone ?? '', country: me.country ?? '' },
  })
  const { errors, isSubmitting, isDirty } = form.formState
  const msg = (k: keyof Values) => fieldMessage(t, errors[k]?.message)

  async function onSubmit(v: Values) {
    try {
      await update.mutateAsync({ first_name: v.first_name, last_name: v.last_name, phone: v.phone || null, country: v.country || null })
      form.reset(v)
      toast.success(t('settings.profile.saved'))
    } catch (err) {
      applyFieldErrors(err, form.setError, ['first_name', 'last_name', 'phone', 'country'])
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('settings.profile.title')}</CardTitle>
        <CardDescription>{me.email}</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4 sm:grid-cols-2" noValidate onSubmit={form.handleSubmit(onSubmit)}>
          <Field id="profile-first" label={t('auth.fields.firstName')} error={msg('first_name')}>
            <Input autoComplete="given-name" {...form.register('first_name')} />
          </Field>
          <Field id="profile-last" label={t('auth.fields.lastName')} error={msg('last_name')}>
            <Input autoComplete="family-name" {...form.register('last_name')} />
          </Field>
          <Field id="profile-phone" label={t('auth.fields.phone')} error={msg('phone')}>
            <Input type="tel" autoComplete="tel" {...form.register('phone')} />
          </Field>
          <Field id="profile-country" label={t('auth.fields.country')} hint={t('auth.fields.countryHint')} error={msg('country')}>
            <Input maxLength={2} autoComplete="country" {...form.register('country')} />
          </Field>
          <div className="sm:col-span-2">
            <Button type="submit" disabled={isSubmitting || !isDirty}>
              {t('common.save')}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  )
}
