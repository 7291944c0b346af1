import { useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { FileIcon, UploadIcon } from 'lucide-react'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { NativeSelect } from '@/components/ui/native-select'
import { Progress } from '@/components/ui/progress'
import { Skeleton } from '@/components/ui/skeleton'
import { checkFile, DOC_TYPES, useKycDocuments, useKycUpload } from '@/features/kyc/api/kyc'

function formatSize(bytes: number | undefined): string {
  if (!bytes) return ''
  return bytes > 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`
}

function KycStatus({ status }: { status: string }) {
  const { t } = useTranslation()
  const variant = status === 'approved' ? 'up' : status === 'rejected' ? 'down' : status === 'pending' ? 'warning' : 'secondary'
  return <Badge variant={variant}>{t(`status.${status}`, { defaultValue: status })}</Badge>
}

export function KycPage() {
  const { t } = useTranslation()
  const { data: docs = [], isLoading } = useKycDocuments()
  const uploadDoc = useKycUpload()
  const [type, setType] = useState<string>('passport')
  const [file, setFile] = useState<File | null>(null)
  const [error, setError] = useState<string | undefined>()
  const [progress, setProgress] = useState<number | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)
  const abortRef = useRef<AbortController | null>(null)

  function pick(e: React.ChangeEvent<HTMLInputElement>) {
    const f = e.target.files?.[0] ?? null
    setFile(f)
    setError(f ? (checkFile(f) ?? undefined) : undefined)
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    if (!file) {
      setError('kyc.errors.noFile')
      return
    }
    const problem = checkFile(file)
    if (problem) {
      setError(problem)
      return
    }
    const controller = new AbortController()
    abortRef.current = controller
    setProgress(0)
    try {
      await uploadDoc(type, file, setProgress, controller.signal)
      toast.success(t('kyc.uploaded', { name: file.name }))
      setFile(null)
      if (inputRef.current) inputRef.current.value = ''
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'AbortError')) setError(errorMessage(t, err))
    } finally {
      setProgress(null)
      abortRef.current = null
    }
  }

  return (
    <div className="mx-auto grid w-full max-w-5xl gap-4 p-3 md:p-6">
      <h1 className="text-xl font-semibold">{t('kyc.title')}</h1>
      <div className="grid gap-4 lg:grid-cols-[minmax(0,22rem)_1fr]">
        <Card>
          <CardHeader>
            <CardTitle>{t('kyc.uploadTitle')}</CardTitle>
            <CardDescription>{t('kyc.uploadDescription')}</CardDescription>
          </CardHeader>
          <CardContent>
            <form className="grid gap-4" noValidate onSubmit={submit}>
              <Field id="kyc-type" label={t('kyc.type')}>
                <NativeSelect value={type} onChange={(e) => setType(e.target.value)}>
                  {DOC_TYPES.map((d) => (
                    <option key={d} value={d}>
                      {t(`kyc.types.${d}`)}
                    </option>
                  ))}
                </NativeSelect>
              </Field>
              <Field id="kyc-file" label={t('kyc.file')} hint={t('kyc.fileHint')} error={fieldMessage(t, error)}>
                <input
                  ref={inputRef}
                  type="file"
                  accept="application/pdf,image/jpeg,image/png"
                  onChange={pick}
                  className="block w-full text-sm file:mr-3 file:rounded-md file:border file:border-input file:bg-secondary file:px-3 file:py-1.5 file:text-sm file:font-medium"
                />
              </Field>
              {progress !== null ? (
                <div className="grid gap-1">
                  <Progress value={Math.round(progress * 100)} aria-label={t('kyc.progress')} />
                  <div className="flex items-center justify-between text-xs">
                    <span className="num" role="status">
                      {t('kyc.progressValue', { percent: Math.round(progress * 100) })}
                    </span>
                    <Button variant="link" className="h-auto p-0 text-xs" onClick={() => abortRef.current?.abort()}>
                      {t('common.cancel')}
                    </Button>
                  </div>
                </div>
              ) : null}
              <Button type="submit" disabled={progress !== null}>
                <UploadIcon aria-hidden />
                {t('kyc.upload')}
              </Button>
            </form>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>{t('kyc.documents')}</CardTitle>
          </CardHeader>
          <CardContent>
            {isLoading ? (
              <Skeleton className="h-24" />
            ) : docs.length === 0 ? (
              <p className="py-6 text-center text-sm text-muted-foreground">{t('kyc.empty')}</p>
            ) : (
              <ul aria-label={t('kyc.documents')} className="grid gap-2">
                {docs.map((d) => (
                  <li key={d.id} data-testid={`kyc-${d.id}`} className="flex items-center gap-3 rounded-lg border p-3 text-sm">
                    <FileIcon aria-hidden className="size-5 shrink-0 text-muted-foreground" />
                    <div className="min-w-0 flex-1">
                      <p className="font-medium">{t(`kyc.types.${d.type}`, { defaultValue: d.type })}</p>
                      <p className="truncate text-xs text-muted-foreground">
                        {d.filename ?? ''} {formatSize(d.size)} · {formatDateTime(d.created_at)}
                      </p>
                      {d.reason ? <p className="text-xs">{d.reason}</p> : null}
                    </div>
                    <KycStatus status={d.status} />
                  </li>
                ))}
              </ul>
            )}
            {!isLoading && docs.some((d) => d.status === 'rejected') ? (
              <Alert variant="warning" className="mt-3">
                {t('kyc.rejectedNote')}
              </Alert>
            ) : null}
          </CardContent>
        </Card>
      </div>
    </div>
  )
}
