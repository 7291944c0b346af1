import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { PencilIcon, Trash2Icon } from 'lucide-react'
import { decimalsOf } from '@/lib/decimal'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { formatDateTime, formatPrice, formatVolume } from '@/lib/format'
import { getQuote, useQuote } from '@/lib/ws/quote-store'
import { useIsPhone } from '@/lib/use-media'
import type { Account, Instrument, Order } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { useCancelOrder, useModifyOrder, usePendingOrders } from '@/features/trading/api/trading'
import { validateOrder, type OrderFormValues } from '@/features/trading/lib/order-schema'
import { SideBadge } from '@/features/trading/components/side-badge'

function MarketPrice({ order, digits }: { order: Order; digits: number }) {
  const q = useQuote(order.symbol)
  return <span className="num">{formatPrice(q ? (order.side === 'buy' ? q.ask : q.bid) : undefined, digits)}</span>
}

function EditOrderDialog({ order, instrument, onClose }: { order: Order; instrument: Instrument; onClose: () => void }) {
  const { t } = useTranslation()
  const modify = useModifyOrder()
  const [values, setValues] = useState({
    price: order.price ?? '',
    limit_price: order.limit_price ?? '',
    sl: order.sl ?? '',
    tp: order.tp ?? '',
  })
  const [errors, setErrors] = useState<Partial<Record<keyof OrderFormValues, string>>>({})
  const set = (k: keyof typeof values) => (e: React.ChangeEvent<HTMLInputElement>) => setValues((v) => ({ ...v, [k]: e.target.value }))
  const id = `order-${order.id}`

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    const form: OrderFormValues = {
      side: order.side,
      type: order.type,
      volume: order.volume,
      ...values,
      expiry: 'gtc',
      expires_at: '',
    }
    const issues = validateOrder(form, { instrument: { ...instrument, tradable: true }, quote: getQuote(order.symbol), now: Date.now })
    const next: typeof errors = {}
    for (const i of issues) next[i.path] = i.message
    setErrors(next)
    if (issues.length) return
    const body: Record<string, unknown> = { price: values.price.trim(), sl: values.sl.trim() || null, tp: values.tp.trim() || null }
    if (order.type === 'stop_limit') body.limit_price = values.limit_price.trim()
    try {
      await modify.mutateAsync({ id: order.id, body })
      toast.success(t('orders.modified', { symbol: order.symbol }))
      onClose()
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Dialog open onOpenChange={(o) => !o && onClose()}>
      <DialogContent>
        <form onSubmit={submit} noValidate className="grid gap-4">
          <DialogHeader>
            <DialogTitle>{t('orders.editTitle', { symbol: order.symbol })}</DialogTitle>
            <DialogDescription>
              {t('orders.editDescription', { side: t(`ticket.side.${order.side}`), type: t(`ticket.type.${order.type}`), volume: order.volume })}
            </DialogDescription>
          </DialogHeader>
          <div className="grid grid-cols-2 gap-3">
            <Field id={`${id}-price`} label={order.type === 'stop_limit' ? t('ticket.stopPrice') : t('ticket.price')} error={fieldMessage(t, errors.price)}>
              <Input inputMode="decimal" className="num" value={values.price} onChange={set('price')} />
            </Field>
            {order.type === 'stop_limit' ? (
              <Field id={`${id}-limit`} label={t('ticket.limitPrice')} error={fieldMessage(t, errors.limit_price)}>
                <Input inputMode="decimal" className="num" value={values.limit_price} onChange={set('limit_price')} />
              </Field>
            ) : null}
            <Field id={`${id}-sl`} label={t('ticket.sl')} error={fieldMessage(t, errors.sl)}>
              <Input inputMode="decimal" className="num" value={values.sl} onChange={set('sl')} />
            </Field>
            <Field id={`${id}-tp`} label={t('ticket.tp')} error={fieldMessage(t, errors.tp)}>
              <Input inputMode="decimal" className="num" value={values.tp} onChange={set('tp')} />
            </Field>
          </div>
          <DialogFooter>
            <Button variant="outline" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" disabled={modify.isPending}>
              {t('common.save')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}

export function OrdersPanel({ account, instruments }: { account: Account; instruments: Instrument[] }) {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const { data: orders = [], isLoading } = usePendingOrders(account.id)
  const cancel = useCancelOrder()
  const [editing, setEditing] = useState<Order | null>(null)
  const byId = new Map(instruments.map((i) => [i.symbol, i]))

  async function doCancel(o: Order) {
    try {
      await cancel.mutateAsync(o.id)
      toast.success(t('orders.cancelled', { symbol: o.symbol }))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  const actions = (o: Order) => {
    const label = `${o.symbol} ${t(`ticket.side.${o.side}`)} ${t(`ticket.type.${o.type}`)} ${o.volume}`
    return (
      <div className="flex justify-end gap-1">
        <Button size="sm" variant="outline" aria-label={t('orders.editAria', { order: label })} onClick={() => setEditing(o)}>
          <PencilIcon aria-hidden />
        </Button>
        <Button size="sm" variant="outline" aria-label={t('orders.cancelAria', { order: label })} disabled={cancel.isPending} onClick={() => doCancel(o)}>
          <Trash2Icon aria-hidden />
        </Button>
      </div>
    )
  }

  if (isLoading) return <Skeleton className="h-16" />
  if (orders.length === 0) return <p className="px-1 py-6 text-center text-sm text-muted-foreground">{t('orders.empty')}</p>
  const editingInst = editing ? byId.get(editing.symbol) : undefined
  return (
    <>
      {phone ? (
        <ul aria-label={t('orders.title')} className="grid gap-2">
          {orders.map((o) => {
            const i = byId.get(o.symbol)
            const digits = i?.digits ?? 5
            return (
              <li key={o.id} className="rounded-lg border p-3">
                <div className="flex items-center gap-2">
                  <span className="font-semibold">{o.symbol}</span>
                  <SideBadge side={o.side} />
                  <span className="text-sm">{t(`ticket.type.${o.type}`)}</span>
                  <span className="ml-auto num text-sm">{formatVolume(o.volume, decimalsOf(i?.volume_step ?? '0.01'))}</span>
                </div>
                <dl className="mt-2 grid grid-cols-2 gap-x-3 gap-y-0.5 text-xs">
                  <dt className="text-muted-foreground">{t('ticket.price')}</dt>
                  <dd className="text-right num">{formatPrice(o.price, digits)}</dd>
                  <dt className="text-muted-foreground">{t('orders.market')}</dt>
                  <dd className="text-right">
                    <MarketPrice order={o} digits={digits} />
                  </dd>
                  <dt className="text-muted-foreground">{t('ticket.sl')}</dt>
                  <dd className="text-right num">{formatPrice(o.sl, digits)}</dd>
                  <dt className="text-muted-foreground">{t('ticket.tp')}</dt>
                  <dd className="text-right num">{formatPrice(o.tp, digits)}</dd>
                </dl>
                <div className="mt-2">{actions(o)}</div>
              </li>
            )
          })}
        </ul>
      ) : (
        <Table label={t('orders.title')}>
          <TableHeader>
            <TableRow>
              <TableHead>{t('positions.symbol')}</TableHead>
              <TableHead>{t('positions.side')}</TableHead>
              <TableHead>{t('orders.type')}</TableHead>
              <TableHead className="text-right">{t('positions.volume')}</TableHead>
              <TableHead className="text-right">{t('ticket.price')}</TableHead>
              <TableHead className="text-right">{t('ticket.limitPrice')}</TableHead>
              <TableHead className="text-right">{t('orders.market')}</TableHead>
              <TableHead className="text-right">{t('ticket.sl')}</TableHead>
              <TableHead className="text-right">{t('ticket.tp')}</TableHead>
              <TableHead>{t('orders.expiry')}</TableHead>
              <TableHead className="text-right">
                <span className="sr-only">{t('common.actions')}</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {orders.map((o) => {
              const i = byId.get(o.symbol)
              const digits = i?.digits ?? 5
              return (
                <TableRow key={o.id}>
                  <th scope="row" className="px-2 text-left font-medium">
                    {o.symbol}
                  </th>
                  <TableCell>
                    <SideBadge side={o.side} />
                  </TableCell>
                  <TableCell>{t(`ticket.type.${o.type}`)}</TableCell>
                  <TableCell className="text-right num">{formatVolume(o.volume, decimalsOf(i?.volume_step ?? '0.01'))}</TableCell>
                  <TableCell className="text-right num">{formatPrice(o.price, digits)}</TableCell>
                  <TableCell className="text-right num">{formatPrice(o.limit_price, digits)}</TableCell>
                  <TableCell className="text-right">
                    <MarketPrice order={o} digits={digits} />
                  </TableCell>
                  <TableCell className="text-right num">{formatPrice(o.sl, digits)}</TableCell>
                  <TableCell className="text-right num">{formatPrice(o.tp, digits)}</TableCell>
                  <TableCell>{o.expires_at ? formatDateTime(o.expires_at) : t(`ticket.expiryType.${o.expiry_type === 'day' ? 'day' : 'gtc'}`)}</TableCell>
                  <TableCell>{actions(o)}</TableCell>
                </TableRow>
              )
            })}
          </TableBody>
        </Table>
      )}
      {editing && editingInst ? <EditOrderDialog key={editing.id} order={editing} instrument={editingInst} onClose={() => setEditing(null)} /> : null}
    </>
  )
}
