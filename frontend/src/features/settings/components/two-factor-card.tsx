import { useState } from 'react'
import { QRCodeSVG } from 'qrcode.react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { CopyIcon, DownloadIcon, ShieldCheckIcon } from 'lucide-react'
import { saveBlob } from '@/lib/api-client'
import { errorMessage } from '@/lib/errors'
import type { Me, TotpSetup } from '@/lib/types'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useNewBackupCodes, useTotpDisable, useTotpEnable, useTotpSetup } from '@/features/settings/api/settings'

async function copy(text: string, done: string, failed: string) {
  try {
    await navigator.clipboard.writeText(text)
    toast.success(done)
  } catch {
    toast.error(failed)
  }
}

function BackupCodes({ codes }: { codes: string[] }) {
  const { t } = useTranslation()
  const text = codes.join('\n')
  return (
    <div className="grid gap-3">
      <Alert variant="warning">{t('settings.twoFactor.backupWarning')}</Alert>
      <ul aria-label={t('settings.twoFactor.backupCodes')} data-testid="backup-codes" className="grid grid-cols-2 gap-1 rounded-md bg-muted p-3 font-mono text-sm">
        {codes.map((c) => (
          <li key={c} className="num">
            {c}
          </li>
        ))}
      </ul>
      <div className="flex flex-wrap gap-2">
        <Button variant="outline" size="sm" onClick={() => copy(text, t('common.copied'), t('common.copyFailed'))}>
          <CopyIcon aria-hidden />
          {t('settings.twoFactor.copyCodes')}
        </Button>
        <Button variant="outline" size="sm" onClick={() => saveBlob(new Blob([text + '\n'], { type: 'text/plain' }), 'backup-codes.txt')}>
          <DownloadIcon aria-hidden />
          {t('settings.twoFactor.downloadCodes')}
        </Button>
      </div>
    </div>
  )
}

function CodeInput({ id, value, onChange, label }: { id: string; value: string; onChange: (v: string) => void; label: string }) {
  return (
    <Field id={id} label={label}>
      <Input inputMode="numeric" autoComplete="one-time-code" maxLength={20} className="num w-40" value={value} onChange={(e) => onChange(e.target.value.trim())} />
    </Field>
  )
}

export function TwoFactorCard({ me, impersonated }: { me: Me; impersonated: boolean }) {
  const { t } = useTranslation()
  const setup = useTotpSetup()
  const enable = useTotpEnable()
  const disable = useTotpDisable()
  const regenerate = useNewBackupCodes()
  const [pending, setPending] = useState<TotpSetup | null>(null)
  const [code, setCode] = useState('')
  const [password, setPassword] = useState('')
  const [codes, setCodes] = useState<string[] | null>(null)
  const [mode, setMode] = useState<'idle' | 'disable' | 'regenerate'>('idle')
  const [error, setError] = useState<string | null>(null)

  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setError(null)
    try {
      return await fn()
    } catch (err) {
      setError(errorMessage(t, err))
      return undefined
    }
  }

  async function startSetup() {
    const res = await run(() => setup.mutateAsync())
    if (res) setPending(res)
  }

  async function confirmEnable(e: React.FormEvent) {
    e.preventDefault()
    if (!/^\d{6}$/.test(code)) return setError(t('validation.code'))
    const res = await run(() => enable.mutateAsync(code))
    if (res) {
      setCodes(res.backup_codes)
      setPending(null)
      setCode('')
      toast.success(t('settings.twoFactor.enabled'))
    }
  }

  async function confirmDisable(e: React.FormEvent) {
    e.preventDefault()
    const res = await run(() => disable.mutateAsync({ password, code }))
    if (res !== undefined) {
      setMode('idle')
      setPassword('')
      setCode('')
      setCodes(null)
      toast.success(t('settings.twoFactor.disabled'))
    }
  }

  async function confirmRegenerate(e: React.FormEvent) {
    e.preventDefault()
    const res = await run(() => regenerate.mutateAsync(code))
    if (res) {
      setCodes(res.backup_codes)
      setMode('idle')
      setCode('')
    }
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <ShieldCheckIcon aria-hidden className="size-5" />
          {t('settings.twoFactor.title')}
          <Badge variant={me.totp_enabled ? 'up' : 'secondary'}>{me.totp_enabled ? t('settings.twoFactor.on') : t('settings.twoFactor.off')}</Badge>
        </CardTitle>
        <CardDescription>{t('settings.twoFactor.description')}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {error ? <Alert variant="destructive">{error}</Alert> : null}
        {impersonated ? <Alert variant="warning">{t('settings.impersonationLocked')}</Alert> : null}
        {codes ? <BackupCodes codes={codes} /> : null}

        {!me.totp_enabled && !pending ? (
          <div>
            <Button onClick={startSetup} disabled={setup.isPending || impersonated}>
              {t('settings.twoFactor.setup')}
            </Button>
          </div>
        ) : null}

        {!me.totp_enabled && pending ? (
          <form className="grid gap-4" noValidate onSubmit={confirmEnable}>
            <ol className="grid list-decimal gap-1 pl-5 text-sm">
              <li>{t('settings.twoFactor.step1')}</li>
              <li>{t('settings.twoFactor.step2')}</li>
            </ol>
            <div className="w-fit rounded-md bg-white p-3">
              <QRCodeSVG value={pending.otpauth_uri} size={176} role="img" aria-label={t('settings.twoFactor.qrLabel')} />
            </div>
            <div className="grid gap-1">
              <span className="text-sm font-medium">{t('settings.twoFactor.secret')}</span>
              <div className="flex flex-wrap items-center gap-2">
                <code data-testid="totp-secret" className="rounded bg-muted px-2 py-1 font-mono text-sm break-all">
                  {pending.secret}
                </code>
                <Button variant="outline" size="sm" onClick={() => copy(pending.secret, t('common.copied'), t('common.copyFailed'))}>
                  <CopyIcon aria-hidden />
                  {t('common.copy')}
                </Button>
              </div>
            </div>
            <CodeInput id="totp-enable-code" label={t('auth.twoFactor.code')} value={code} onChange={setCode} />
            <div className="flex gap-2">
              <Button type="submit" disabled={enable.isPending}>
                {t('settings.twoFactor.enable')}
              </Button>
              <Button variant="outline" onClick={() => setPending(null)}>
                {t('common.cancel')}
              </Button>
            </div>
          </form>
        ) : null}

        {me.totp_enabled && mode === 'idle' ? (
          <div className="flex flex-wrap gap-2">
            <Button variant="outline" disabled={impersonated} onClick={() => setMode('regenerate')}>
              {t('settings.twoFactor.newCodes')}
            </Button>
            <Button variant="destructive" disabled={impersonated} onClick={() => setMode('disable')}>
              {t('settings.twoFactor.disable')}
            </Button>
          </div>
        ) : null}

        {me.totp_enabled && mode === 'regenerate' ? (
          <form className="grid gap-3" noValidate onSubmit={confirmRegenerate}>
            <CodeInput id="totp-regen-code" label={t('auth.twoFactor.code')} value={code} onChange={setCode} />
            <div className="flex gap-2">
              <Button type="submit" disabled={regenerate.isPending}>
                {t('settings.twoFactor.newCodes')}
              </Button>
              <Button variant="outline" onClick={() => setMode('idle')}>
                {t('common.cancel')}
              </Button>
            </div>
          </form>
        ) : null}

        {me.totp_enabled && mode === 'disable' ? (
          <form className="grid gap-3" noValidate onSubmit={confirmDisable}>
            <Field id="totp-disable-password" label={t('auth.fields.password')}>
              <Input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </Field>
            <CodeInput id="totp-disable-code" label={t('auth.twoFactor.code')} value={code} onChange={setCode} />
            <div className="flex gap-2">
              <Button type="submit" variant="destructive" disabled={disable.isPending}>
                {t('settings.twoFactor.disable')}
              </Button>
              <Button variant="outline" onClick={() => setMode('idle')}>
                {t('common.cancel')}
              </Button>
            </div>
          </form>
        ) : null}
      </CardContent>
    </Card>
  )
}
