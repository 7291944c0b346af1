import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { direction, formatDateTime, formatMoney, formatSigned } from '@/lib/format'
import { useIsPhone } from '@/lib/use-media'
import { cn } from '@/lib/utils'
import type { Account } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { NativeSelect } from '@/components/ui/native-select'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { useLedger } from '@/features/funds/api/funds'

/** The account statement: every ledger row with the running balance. */
export function Statement({ accounts, initialId }: { accounts: Account[]; initialId: number | undefined }) {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const [accountId, setAccountId] = useState<number | undefined>(initialId ?? accounts[0]?.id)
  const [page, setPage] = useState(1)
  const account = accounts.find((a) => a.id === accountId)
  const { data, isLoading, isFetching } = useLedger(accountId ?? null, page)
  const rows = data?.items ?? []
  const pages = data?.total !== undefined && data.per_page ? Math.max(1, Math.ceil(data.total / data.per_page)) : 1
  const currency = account?.currency ?? 'USD'
  const kind = (k: string) => t(`statement.kind.${k}`, { defaultValue: k })
  const amount = (v: string) => (
    <span className={cn('num', direction(v) === 'up' && 'text-up', direction(v) === 'down' && 'text-down')}>{formatSigned(v)}</span>
  )

  return (
    <div className="grid gap-3">
      <Field id="statement-account" label={t('funds.account')} className="max-w-xs">
        <NativeSelect
          value={accountId ?? ''}
          onChange={(e) => {
            setAccountId(Number(e.target.value))
            setPage(1)
          }}
        >
          {accounts.map((a) => (
            <option key={a.id} value={a.id}>
              {t(`account.type.${a.type}`)} {a.number}
            </option>
          ))}
        </NativeSelect>
      </Field>
      {isLoading ? (
        <Skeleton className="h-24" />
      ) : rows.length === 0 ? (
        <p className="py-6 text-center text-sm text-muted-foreground">{t('statement.empty')}</p>
      ) : phone ? (
        <ul aria-label={t('statement.title')} className="grid gap-2">
          {rows.map((r) => (
            <li key={r.id} className="rounded-lg border p-3 text-sm">
              <div className="flex items-center justify-between">
                <span className="font-medium">{kind(r.kind)}</span>
                {amount(r.amount)}
              </div>
              <p className="mt-1 text-xs text-muted-foreground">
                {formatDateTime(r.created_at)} · {t('statement.balanceAfter')} <span className="num">{formatMoney(r.balance_after, currency)}</span>
              </p>
            </li>
          ))}
        </ul>
      ) : (
        <Table label={t('statement.title')}>
          <TableHeader>
            <TableRow>
              <TableHead>{t('funds.date')}</TableHead>
              <TableHead>{t('statement.type')}</TableHead>
              <TableHead className="text-right">{t('funds.amountShort')}</TableHead>
              <TableHead className="text-right">{t('statement.balanceAfter')}</TableHead>
              <TableHead>{t('funds.note')}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {rows.map((r) => (
              <TableRow key={r.id}>
                <TableCell>{formatDateTime(r.created_at)}</TableCell>
                <TableCell>{kind(r.kind)}</TableCell>
                <TableCell className="text-right">{amount(r.amount)}</TableCell>
                <TableCell className="text-right num">{formatMoney(r.balance_after, currency)}</TableCell>
                <TableCell className="max-w-64 truncate">{r.comment ?? ''}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      <nav aria-label={t('statement.pagination')} className="flex items-center justify-end gap-2">
        <Button variant="outline" size="sm" disabled={page <= 1 || isFetching} onClick={() => setPage((p) => p - 1)}>
          {t('history.previous')}
        </Button>
        <span className="num text-sm">{t('history.pageOf', { page, pages })}</span>
        <Button variant="outline" size="sm" disabled={page >= pages || isFetching} onClick={() => setPage((p) => p + 1)}>
          {t('history.next')}
        </Button>
      </nav>
    </div>
  )
}
