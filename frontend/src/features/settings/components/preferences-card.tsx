import { useTranslation } from 'react-i18next'
import { LANGUAGES, setLanguage } from '@/lib/i18n'
import { useUpdatePreferences } from '@/lib/session'
import { setTheme, useTheme } from '@/lib/theme'
import type { Theme } from '@/lib/types'
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { NativeSelect } from '@/components/ui/native-select'

export function PreferencesCard() {
  const { t, i18n } = useTranslation()
  const { theme } = useTheme()
  const update = useUpdatePreferences()
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('settings.preferences.title')}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4 sm:grid-cols-2">
        <Field id="pref-language" label={t('settings.preferences.language')}>
          <NativeSelect
            value={i18n.resolvedLanguage ?? 'en'}
            onChange={(e) => {
              setLanguage(e.target.value)
              update.mutate({ language: e.target.value })
            }}
          >
            {LANGUAGES.map((l) => (
              <option key={l.code} value={l.code}>
                {l.label}
              </option>
            ))}
          </NativeSelect>
        </Field>
        <Field id="pref-theme" label={t('settings.preferences.theme')}>
          <NativeSelect
            value={theme}
            onChange={(e) => {
              const next = e.target.value as Theme
              setTheme(next)
              update.mutate({ theme: next })
            }}
          >
            {(['system', 'light', 'dark'] as const).map((v) => (
              <option key={v} value={v}>
                {t(`theme.${v}`)}
              </option>
            ))}
          </NativeSelect>
        </Field>
      </CardContent>
    </Card>
  )
}
