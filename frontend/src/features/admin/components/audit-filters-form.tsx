import { useId, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { FilterIcon, SearchIcon, XIcon } from 'lucide-react'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { NativeSelect } from '@/components/ui/native-select'
import {
  ACTOR_TYPES,
  activeFilterCount,
  filtersFromForm,
  OUTCOMES,
  type AuditFilters,
} from '@/features/admin/lib/audit-filters'
import { isoToLocalInput, localInputToIso } from '@/features/admin/lib/url-state'

// Suggestions for the action filter (free text still works; a trailing * matches a prefix).
const ACTION_SUGGESTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.*',
  'admin.*',
  'sso.*',
  'impersonation.*',
  'order.*',
  'position.*',
  'deposit.*',
  'withdrawal.*',
  'kyc.*',
  'crm.*',
  'webhook.*',
]

type FormValues = Record<keyof AuditFilters, string>

function toForm(filters: AuditFilters): FormValues {
  return {
    actor: filters.actor ?? '',
    actor_type: filters.actor_type ?? '',
    action: filters.action ?? '',
    target: filters.target ?? '',
    outcome: filters.outcome ?? '',
    ip: filters.ip ?? '',
    impersonator: filters.impersonator ?? '',
    from: isoToLocalInput(filters.from),
    to: isoToLocalInput(filters.to),
    q: filters.q ?? '',
  }
}

/** The audit log's filters; applying them writes the URL (so a filtered view can be shared and bookmarked). */
export function AuditFiltersForm({ filters, onApply }: { filters: AuditFilters; onApply: (filters: AuditFilters) => void }) {
  const { t } = useTranslation()
  const id = useId()
  const [values, setValues] = useState<FormValues>(() => toForm(filters))
  const [invalid, setInvalid] = useState<(keyof AuditFilters)[]>([])
  const [open, setOpen] = useState(false)
  const count = activeFilterCount(filters)

  const set = (key: keyof AuditFilters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setValues((v) => ({ ...v, [key]: e.target.value }))

  function submit(e: React.FormEvent) {
    e.preventDefault()
    const raw = { ...values, from: localInputToIso(values.from) ?? values.from, to: localInputToIso(values.to) ?? values.to }
    const result = filtersFromForm(raw)
    setInvalid(result.invalid)
    if (result.invalid.length === 0) onApply(result.filters)
  }

  function clear() {
    setValues(toForm({}))
    setInvalid([])
    onApply({})
  }

  const error = (key: keyof AuditFilters) =>
    invalid.includes(key) ? t(key === 'to' || key === 'from' ? 'admin.audit.errors.range' : 'admin.audit.errors.invalid') : undefined
  const fid = (key: string) => `${id}-${key}`

  return (
    <div className="grid gap-2">
      <Button
        variant="outline"
        className="w-fit md:hidden"
        aria-expanded={open}
        aria-controls={fid('form')}
        onClick={() => setOpen((o) => !o)}
      >
        <FilterIcon aria-hidden />
        {count ? t('admin.audit.filtersCount', { count }) : t('admin.audit.filters')}
      </Button>
      <form
        id={fid('form')}
        role="search"
        aria-label={t('admin.audit.filters')}
        noValidate
        onSubmit={submit}
        className={open ? 'grid gap-3 rounded-lg border p-3' : 'hidden gap-3 rounded-lg border p-3 md:grid'}
      >
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Field id={fid('actor')} label={t('admin.audit.actor')} hint={t('admin.audit.actorHint')} error={error('actor')}>
            <Input value={values.actor} onChange={set('actor')} maxLength={128} autoComplete="off" />
          </Field>
          <Field id={fid('actor_type')} label={t('admin.audit.actorType')}>
            <NativeSelect value={values.actor_type} onChange={set('actor_type')}>
              <option value="">{t('admin.common.any')}</option>
              {ACTOR_TYPES.map((a) => (
                <option key={a} value={a}>
                  {t(`admin.actorType.${a}`)}
                </option>
              ))}
            </NativeSelect>
          </Field>
          <Field id={fid('action')} label={t('admin.audit.action')} hint={t('admin.audit.actionHint')} error={error('action')}>
            <Input value={values.action} onChange={set('action')} maxLength={64} autoComplete="off" list={fid('actions')} />
          </Field>
          <datalist id={fid('actions')}>
            {ACTION_SUGGESTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <Field id={fid('target')} label={t('admin.audit.target')} hint={t('admin.audit.targetHint')} error={error('target')}>
            <Input value={values.target} onChange={set('target')} maxLength={160} autoComplete="off" />
          </Field>
          <Field id={fid('outcome')} label={t('admin.audit.outcome')}>
            <NativeSelect value={values.outcome} onChange={set('outcome')}>
              <option value="">{t('admin.common.any')}</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {t(`admin.outcome.${o}`)}
                </option>
              ))}
            </NativeSelect>
          </Field>
          <Field id={fid('ip')} label={t('admin.audit.ip')} error={error('ip')}>
            <Input value={values.ip} onChange={set('ip')} maxLength={64} autoComplete="off" inputMode="text" />
          </Field>
          <Field id={fid('from')} label={t('admin.audit.from')} error={error('from')}>
            <Input type="datetime-local" value={values.from} onChange={set('from')} />
          </Field>
          <Field id={fid('to')} label={t('admin.audit.to')} error={error('to')}>
            <Input type="datetime-local" value={values.to} onChange={set('to')} />
          </Field>
          <Field id={fid('impersonator')} label={t('admin.audit.impersonator')} error={error('impersonator')}>
            <Input value={values.impersonator} onChange={set('impersonator')} maxLength={128} autoComplete="off" />
          </Field>
          <Field id={fid('q')} label={t('admin.audit.text')} hint={t('admin.audit.textHint')} error={error('q')} className="sm:col-span-2 lg:col-span-3">
            <Input type="search" value={values.q} onChange={set('q')} maxLength={200} autoComplete="off" />
          </Field>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button type="submit">
            <SearchIcon aria-hidden />
            {t('admin.audit.apply')}
          </Button>
          <Button type="button" variant="outline" onClick={clear} disabled={count === 0 && Object.values(values).every((v) => !v)}>
            <XIcon aria-hidden />
            {t('admin.audit.clear')}
          </Button>
        </div>
      </form>
    </div>
  )
}
