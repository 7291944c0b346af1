import { useMemo } from 'react'
import { useForm, useWatch } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { formatDateTime, formatMoney } from '@/lib/format'
import { useAccounts, useActiveAccount } from '@/lib/session'
import { useIsPhone } from '@/lib/use-media'
import { newIdempotencyKey } from '@/lib/utils'
import type { Account, FundsRequest } from '@/lib/types'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { NativeSelect } from '@/components/ui/native-select'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs'
import { useCancelFunds, useCreateFunds, useFundsList, type FundsKind } from '@/features/funds/api/funds'
import { makeFundsSchema, METHODS, type FundsFormValues } from '@/features/funds/lib/schema'
import { Statement } from '@/features/funds/components/statement'

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation()
  const variant =
    status === 'approved' || status === 'completed'
      ? 'up'
      : status === 'declined' || status === 'rejected'
        ? 'down'
        : status === 'pending'
          ? 'warning'
          : 'secondary'
  return <Badge variant={variant}>{t(`status.${status}`, { defaultValue: status })}</Badge>
}

function FundsForm({ kind, accounts }: { kind: FundsKind; accounts: Account[] }) {
  const { t } = useTranslation()
  const create = useCreateFunds(kind)
  const schema = useMemo(
    () =>
      makeFundsSchema((id) => (kind === 'withdrawals' ? accounts.find((a) => String(a.id) === id)?.free_margin : null)),
    [kind, accounts],
  )
  const form = useForm<FundsFormValues>({
    resolver: zodResolver(schema),
    defaultValues: { account_id: accounts[0] ? String(accounts[0].id) : '', amount: '', method: 'bank_transfer' },
  })
  const accountId = useWatch({ control: form.control, name: 'account_id' })
  const account = accounts.find((a) => String(a.id) === accountId)
  const { errors, isSubmitting } = form.formState
  const prefix = `${kind}-form`

  async function onSubmit(v: FundsFormValues) {
    if (!account) return
    try {
      await create.mutateAsync({
        body: { account_id: account.id, amount: v.amount.trim(), currency: account.currency, method: v.method },
        idempotencyKey: newIdempotencyKey(),
      })
      toast.success(t(`funds.${kind}.submitted`))
      form.reset({ account_id: v.account_id, amount: '', method: v.method })
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  if (!accounts.length) return <Alert variant="warning">{t('funds.noLiveAccount')}</Alert>
  return (
    <form className="grid gap-4" noValidate onSubmit={form.handleSubmit(onSubmit)} aria-label={t(`funds.${kind}.formTitle`)}>
      <Field id={`${prefix}-account`} label={t('funds.account')} error={fieldMessage(t, errors.account_id?.message)}>
        <NativeSelect {...form.register('account_id')}>
          {accounts.map((a) => (
            <option key={a.id} value={a.id}>
              {a.number} · {formatMoney(kind === 'withdrawals' ? a.free_margin : a.balance, a.currency)}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Field
        id={`${prefix}-amount`}
        label={t('funds.amount', { currency: account?.currency ?? '' })}
        hint={kind === 'withdrawals' && account ? t('funds.available', { amount: formatMoney(account.free_margin, account.currency) }) : undefined}
        error={fieldMessage(t, errors.amount?.message)}
      >
        <Input inputMode="decimal" autoComplete="off" className="num" {...form.register('amount')} />
      </Field>
      <Field id={`${prefix}-method`} label={t('funds.method')}>
        <NativeSelect {...form.register('method')}>
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {t(`funds.methods.${m}`)}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Button type="submit" disabled={isSubmitting}>
        {t(`funds.${kind}.submit`)}
      </Button>
    </form>
  )
}

function FundsHistory({ kind, accounts }: { kind: FundsKind; accounts: Account[] }) {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const { data = [], isLoading } = useFundsList(kind)
  const cancel = useCancelFunds(kind)
  const numberOf = (id: number) => accounts.find((a) => a.id === id)?.number ?? String(id)

  async function doCancel(r: FundsRequest) {
    try {
      await cancel.mutateAsync(r.id)
      toast.success(t('funds.cancelled'))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }
  const cancelButton = (r: FundsRequest) =>
    r.status === 'pending' ? (
      <Button size="sm" variant="outline" disabled={cancel.isPending} onClick={() => doCancel(r)} aria-label={t('funds.cancelAria', { amount: formatMoney(r.amount, r.currency) })}>
        {t('common.cancel')}
      </Button>
    ) : null

  if (isLoading) return <Skeleton className="h-24" />
  if (!data.length) return <p className="py-6 text-center text-sm text-muted-foreground">{t(`funds.${kind}.empty`)}</p>
  if (phone) {
    return (
      <ul aria-label={t(`funds.${kind}.history`)} className="grid gap-2">
        {data.map((r) => (
          <li key={r.id} className="rounded-lg border p-3 text-sm">
            <div className="flex items-center justify-between gap-2">
              <span className="num font-semibold">{formatMoney(r.amount, r.currency)}</span>
              <StatusBadge status={r.status} />
            </div>
            <p className="mt-1 text-xs text-muted-foreground">
              {t(`funds.methods.${r.method}`, { defaultValue: r.method })} · {numberOf(r.account_id)} · {formatDateTime(r.created_at)}
            </p>
            {r.reason ? <p className="mt-1 text-xs">{r.reason}</p> : null}
            <div className="mt-2 flex justify-end">{cancelButton(r)}</div>
          </li>
        ))}
      </ul>
    )
  }
  return (
    <Table label={t(`funds.${kind}.history`)}>
      <TableHeader>
        <TableRow>
          <TableHead>{t('funds.date')}</TableHead>
          <TableHead>{t('funds.account')}</TableHead>
          <TableHead>{t('funds.method')}</TableHead>
          <TableHead className="text-right">{t('funds.amountShort')}</TableHead>
          <TableHead>{t('funds.status')}</TableHead>
          <TableHead>{t('funds.note')}</TableHead>
          <TableHead>
            <span className="sr-only">{t('common.actions')}</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {data.map((r) => (
          <TableRow key={r.id} data-testid={`${kind}-${r.id}`}>
            <TableCell>{formatDateTime(r.created_at)}</TableCell>
            <TableCell className="num">{numberOf(r.account_id)}</TableCell>
            <TableCell>{t(`funds.methods.${r.method}`, { defaultValue: r.method })}</TableCell>
            <TableCell className="text-right num">{formatMoney(r.amount, r.currency)}</TableCell>
            <TableCell>
              <StatusBadge status={r.status} />
            </TableCell>
            <TableCell className="max-w-48 truncate">{r.reason ?? ''}</TableCell>
            <TableCell className="text-right">{cancelButton(r)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  )
}

export function FundsPage() {
  const { t } = useTranslation()
  const { data: accounts = [], isLoading } = useAccounts()
  const { account } = useActiveAccount()
  const live = accounts.filter((a) => a.type === 'live')
  return (
    <div className="mx-auto grid w-full max-w-5xl gap-4 p-3 md:p-6">
      <h1 className="text-xl font-semibold">{t('funds.title')}</h1>
      <Tabs defaultValue="deposits" className="grid gap-4">
        <TabsList>
          <TabsTrigger value="deposits">{t('funds.deposits.tab')}</TabsTrigger>
          <TabsTrigger value="withdrawals">{t('funds.withdrawals.tab')}</TabsTrigger>
          <TabsTrigger value="statement">{t('statement.tab')}</TabsTrigger>
        </TabsList>
        {(['deposits', 'withdrawals'] as const).map((kind) => (
          <TabsContent key={kind} value={kind} className="grid gap-4 lg:grid-cols-[minmax(0,22rem)_1fr]">
            <Card>
              <CardHeader>
                <CardTitle>{t(`funds.${kind}.formTitle`)}</CardTitle>
                <CardDescription>{t(`funds.${kind}.description`)}</CardDescription>
              </CardHeader>
              <CardContent>{isLoading ? <Skeleton className="h-40" /> : <FundsForm kind={kind} accounts={live} />}</CardContent>
            </Card>
            <Card>
              <CardHeader>
                <CardTitle>{t(`funds.${kind}.history`)}</CardTitle>
              </CardHeader>
              <CardContent>
                <FundsHistory kind={kind} accounts={accounts} />
              </CardContent>
            </Card>
          </TabsContent>
        ))}
        <TabsContent value="statement">
          <Card>
            <CardHeader>
              <CardTitle>{t('statement.title')}</CardTitle>
              <CardDescription>{t('statement.description')}</CardDescription>
            </CardHeader>
            <CardContent>
              {isLoading ? <Skeleton className="h-24" /> : <Statement accounts={accounts} initialId={account?.id} />}
            </CardContent>
          </Card>
        </TabsContent>
      </Tabs>
    </div>
  )
}
