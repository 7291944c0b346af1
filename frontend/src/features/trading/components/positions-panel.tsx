import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { PencilIcon, XIcon } from 'lucide-react'
import { decimalsOf } from '@/lib/decimal'
import { formatPrice, formatVolume } from '@/lib/format'
import { useIsPhone } from '@/lib/use-media'
import type { Account, Instrument, Position } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { Skeleton } from '@/components/ui/skeleton'
import { usePositions } from '@/features/trading/api/trading'
import { CurrentPrice, LivePl } from '@/features/trading/components/live-pl'
import { SideBadge } from '@/features/trading/components/side-badge'
import { CloseAllButton, ClosePositionDialog, EditProtectionDialog } from '@/features/trading/components/position-dialogs'

interface Props {
  account: Account
  instruments: Instrument[]
}

type DialogState = { kind: 'edit' | 'close'; position: Position } | null

export function PositionsPanel({ account, instruments }: Props) {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const { data: positions = [], isLoading } = usePositions(account.id)
  const open = positions.filter((p) => p.status === undefined || p.status === 'open')
  const [dialog, setDialog] = useState<DialogState>(null)
  const byId = new Map(instruments.map((i) => [i.symbol, i]))

  const actions = (p: Position) => {
    const label = `${p.symbol} ${t(`ticket.side.${p.side}`)} ${p.volume}`
    return (
      <div className="flex justify-end gap-1">
        <Button size="sm" variant="outline" aria-label={t('positions.editAria', { position: label })} onClick={() => setDialog({ kind: 'edit', position: p })}>
          <PencilIcon aria-hidden />
          <span className="hidden lg:inline">{t('positions.editShort')}</span>
        </Button>
        <Button size="sm" variant="outline" aria-label={t('positions.closeAria', { position: label })} onClick={() => setDialog({ kind: 'close', position: p })}>
          <XIcon aria-hidden />
          <span className="hidden lg:inline">{t('positions.closeShort')}</span>
        </Button>
      </div>
    )
  }

  const inst = dialog ? byId.get(dialog.position.symbol) : undefined

  return (
    <div className="flex flex-col gap-2">
      <div className="flex items-center justify-between gap-2 px-1">
        <p className="text-xs text-muted-foreground">{t('positions.count', { count: open.length })}</p>
        <CloseAllButton account={account} count={open.length} />
      </div>
      {isLoading ? (
        <Skeleton className="h-16" />
      ) : open.length === 0 ? (
        <p className="px-1 py-6 text-center text-sm text-muted-foreground">{t('positions.empty')}</p>
      ) : phone ? (
        <ul aria-label={t('positions.title')} className="grid gap-2">
          {open.map((p) => {
            const i = byId.get(p.symbol)
            const digits = i?.digits ?? 5
            return (
              <li key={p.id} data-testid={`position-${p.id}`} className="rounded-lg border p-3">
                <div className="flex items-center justify-between gap-2">
                  <div className="flex items-center gap-2">
                    <span className="font-semibold">{p.symbol}</span>
                    <SideBadge side={p.side} />
                    <span className="num text-sm">{formatVolume(p.volume, decimalsOf(i?.volume_step ?? '0.01'))}</span>
                  </div>
                  <LivePl position={p} instrument={i} currency={account.currency} />
                </div>
                <dl className="mt-2 grid grid-cols-2 gap-x-3 gap-y-0.5 text-xs">
                  <dt className="text-muted-foreground">{t('positions.openPrice')}</dt>
                  <dd className="text-right num">{formatPrice(p.open_price, digits)}</dd>
                  <dt className="text-muted-foreground">{t('positions.currentPrice')}</dt>
                  <dd className="text-right">
                    <CurrentPrice position={p} digits={digits} />
                  </dd>
                  <dt className="text-muted-foreground">{t('ticket.sl')}</dt>
                  <dd className="text-right num">{formatPrice(p.sl, digits)}</dd>
                  <dt className="text-muted-foreground">{t('ticket.tp')}</dt>
                  <dd className="text-right num">{formatPrice(p.tp, digits)}</dd>
                </dl>
                <div className="mt-2">{actions(p)}</div>
              </li>
            )
          })}
        </ul>
      ) : (
        <Table label={t('positions.title')}>
          <TableHeader>
            <TableRow>
              <TableHead>{t('positions.symbol')}</TableHead>
              <TableHead>{t('positions.side')}</TableHead>
              <TableHead className="text-right">{t('positions.volume')}</TableHead>
              <TableHead className="text-right">{t('positions.openPrice')}</TableHead>
              <TableHead className="text-right">{t('positions.currentPrice')}</TableHead>
              <TableHead className="text-right">{t('ticket.sl')}</TableHead>
              <TableHead className="text-right">{t('ticket.tp')}</TableHead>
              <TableHead className="text-right">{t('positions.swap')}</TableHead>
              <TableHead className="text-right">{t('positions.pl', { currency: account.currency })}</TableHead>
              <TableHead className="text-right">
                <span className="sr-only">{t('common.actions')}</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {open.map((p) => {
              const i = byId.get(p.symbol)
              const digits = i?.digits ?? 5
              return (
                <TableRow key={p.id} data-testid={`position-${p.id}`}>
                  <th scope="row" className="px-2 text-left font-medium">
                    {p.symbol}
                  </th>
                  <TableCell>
                    <SideBadge side={p.side} />
                  </TableCell>
                  <TableCell className="text-right num">{formatVolume(p.volume, decimalsOf(i?.volume_step ?? '0.01'))}</TableCell>
                  <TableCell className="text-right num">{formatPrice(p.open_price, digits)}</TableCell>
                  <TableCell className="text-right">
                    <CurrentPrice position={p} digits={digits} />
                  </TableCell>
                  <TableCell className="text-right num" data-testid={`sl-${p.id}`}>
                    {formatPrice(p.sl, digits)}
                  </TableCell>
                  <TableCell className="text-right num" data-testid={`tp-${p.id}`}>
                    {formatPrice(p.tp, digits)}
                  </TableCell>
                  <TableCell className="text-right num">{p.swap ?? '0.00'}</TableCell>
                  <TableCell className="text-right">
                    <LivePl position={p} instrument={i} currency={account.currency} />
                  </TableCell>
                  <TableCell>{actions(p)}</TableCell>
                </TableRow>
              )
            })}
          </TableBody>
        </Table>
      )}
      {dialog && inst && dialog.kind === 'edit' ? (
        <EditProtectionDialog
          key={`e${dialog.position.id}`}
          position={dialog.position}
          instrument={inst}
          open
          onOpenChange={(o) => !o && setDialog(null)}
        />
      ) : null}
      {dialog && inst && dialog.kind === 'close' ? (
        <ClosePositionDialog
          key={`c${dialog.position.id}`}
          position={dialog.position}
          instrument={inst}
          account={account}
          opposites={open.filter((o) => o.symbol === dialog.position.symbol && o.side !== dialog.position.side)}
          open
          onOpenChange={(o) => !o && setDialog(null)}
        />
      ) : null}
    </div>
  )
}
