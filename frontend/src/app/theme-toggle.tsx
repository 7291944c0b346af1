import { useTranslation } from 'react-i18next'
import { MoonIcon, SunIcon } from 'lucide-react'
import { setTheme, useTheme } from '@/lib/theme'
import { Button } from '@/components/ui/button'

export function ThemeToggle() {
  const { t } = useTranslation()
  const { resolved } = useTheme()
  const next = resolved === 'dark' ? 'light' : 'dark'
  return (
    <Button variant="ghost" size="icon-sm" aria-label={t(`theme.switchTo.${next}`)} onClick={() => setTheme(next)} data-testid="theme-toggle">
      {resolved === 'dark' ? <SunIcon aria-hidden /> : <MoonIcon aria-hidden />}
    </Button>
  )
}
