import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { decimalsOf } from '@/lib/decimal'
import { formatPrice, formatVolume } from '@/lib/format'
import { getQuote } from '@/lib/ws/quote-store'
import type { Account, Instrument, Position } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import {
  AlertDialog,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from '@/components/ui/alert-dialog'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { useCloseAll, useCloseBy, useClosePosition, useModifyPosition } from '@/features/trading/api/trading'
import { validateCloseVolume, validateProtection } from '@/features/trading/lib/order-schema'
import { LivePl } from '@/features/trading/components/live-pl'

interface PositionDialogProps {
  position: Position
  instrument: Instrument
  open: boolean
  onOpenChange: (open: boolean) => void
}

/** Edit the TP/SL of an open position. */
export function EditProtectionDialog({ position, instrument, open, onOpenChange }: PositionDialogProps) {
  const { t } = useTranslation()
  const modify = useModifyPosition()
  const [sl, setSl] = useState(position.sl ?? '')
  const [tp, setTp] = useState(position.tp ?? '')
  const [errors, setErrors] = useState<{ sl?: string; tp?: string }>({})
  const id = `protect-${position.id}`

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    const issues = validateProtection(position.side, { sl, tp }, { instrument, quote: getQuote(position.symbol) })
    const next: { sl?: string; tp?: string } = {}
    for (const i of issues) next[i.path as 'sl' | 'tp'] = i.message
    setErrors(next)
    if (issues.length) return
    try {
      await modify.mutateAsync({ id: position.id, sl: sl.trim() || null, tp: tp.trim() || null })
      toast.success(t('positions.protectionSaved', { symbol: position.symbol }))
      onOpenChange(false)
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <form onSubmit={submit} noValidate className="grid gap-4">
          <DialogHeader>
            <DialogTitle>{t('positions.editTitle', { symbol: position.symbol })}</DialogTitle>
            <DialogDescription>
              {t('positions.editDescription', {
                side: t(`ticket.side.${position.side}`),
                volume: formatVolume(position.volume, decimalsOf(instrument.volume_step)),
                price: formatPrice(position.open_price, instrument.digits),
              })}
            </DialogDescription>
          </DialogHeader>
          <div className="grid grid-cols-2 gap-3">
            <Field id={`${id}-sl`} label={t('ticket.sl')} error={fieldMessage(t, errors.sl)}>
              <Input inputMode="decimal" autoComplete="off" className="num" value={sl} onChange={(e) => setSl(e.target.value)} />
            </Field>
            <Field id={`${id}-tp`} label={t('ticket.tp')} error={fieldMessage(t, errors.tp)}>
              <Input inputMode="decimal" autoComplete="off" className="num" value={tp} onChange={(e) => setTp(e.target.value)} />
            </Field>
          </div>
          <p className="text-xs text-muted-foreground">{t('positions.clearHint')}</p>
          <DialogFooter>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
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

/** Close all or part of a position, or close it by an opposite position of the same symbol. */
export function ClosePositionDialog({
  position,
  instrument,
  account,
  opposites = [],
  open,
  onOpenChange,
}: PositionDialogProps & { account: Account; opposites?: Position[] }) {
  const { t } = useTranslation()
  const close = useClosePosition()
  const closeBy = useCloseBy()
  const stepDigits = decimalsOf(instrument.volume_step)
  const [volume, setVolume] = useState(position.volume)
  const [error, setError] = useState<string | undefined>()
  const id = `close-${position.id}`

  async function submit(e: React.FormEvent) {
    e.preventDefault()
    const problem = validateCloseVolume(volume, position.volume, instrument)
    setError(problem ?? undefined)
    if (problem) return
    const partial = volume.trim() !== position.volume && Number(volume) !== Number(position.volume)
    try {
      await close.mutateAsync({ id: position.id, volume: partial ? volume.trim() : undefined })
      toast.success(t(partial ? 'positions.partiallyClosed' : 'positions.closed', { symbol: position.symbol, volume: formatVolume(volume, stepDigits) }))
      onOpenChange(false)
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  async function submitBy(by: Position) {
    try {
      await closeBy.mutateAsync({ id: position.id, byId: by.id })
      toast.success(t('positions.closedBy', { symbol: position.symbol, id: by.id }))
      onOpenChange(false)
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <form onSubmit={submit} noValidate className="grid gap-4">
          <DialogHeader>
            <DialogTitle>{t('positions.closeTitle', { symbol: position.symbol })}</DialogTitle>
            <DialogDescription>
              {t('positions.closeDescription', {
                side: t(`ticket.side.${position.side}`),
                volume: formatVolume(position.volume, stepDigits),
              })}
            </DialogDescription>
          </DialogHeader>
          <Field id={`${id}-volume`} label={t('positions.closeVolume')} error={fieldMessage(t, error)} hint={t('positions.closeVolumeHint')}>
            <Input inputMode="decimal" autoComplete="off" className="num" value={volume} onChange={(e) => setVolume(e.target.value)} />
          </Field>
          <p className="flex items-center justify-between text-sm">
            <span className="text-muted-foreground">{t('positions.currentPl')}</span>
            <LivePl position={position} instrument={instrument} currency={account.currency} />
          </p>
          {opposites.length > 0 ? (
            <section aria-labelledby={`${id}-by`} className="grid gap-2 border-t pt-3">
              <h3 id={`${id}-by`} className="text-sm font-medium">
                {t('positions.closeByTitle')}
              </h3>
              <p className="text-xs text-muted-foreground">{t('positions.closeByHint')}</p>
              {opposites.map((by) => (
                <Button key={by.id} type="button" size="sm" variant="outline" disabled={closeBy.isPending} onClick={() => submitBy(by)}>
                  {t('positions.closeByOption', {
                    id: by.id,
                    side: t(`ticket.side.${by.side}`),
                    volume: formatVolume(by.volume, stepDigits),
                    price: formatPrice(by.open_price, instrument.digits),
                  })}
                </Button>
              ))}
            </section>
          ) : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" variant="destructive" disabled={close.isPending}>
              {t('positions.confirmClose')}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}

/** Close every position of the account (optionally of one symbol), after a confirmation. */
export function CloseAllButton({ account, count }: { account: Account; count: number }) {
  const { t } = useTranslation()
  const closeAll = useCloseAll()
  const [open, setOpen] = useState(false)
  async function confirm() {
    try {
      await closeAll.mutateAsync({ accountId: account.id })
      toast.success(t('positions.allClosed'))
      setOpen(false)
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }
  return (
    <AlertDialog open={open} onOpenChange={setOpen}>
      <Button size="sm" variant="outline" disabled={count === 0} onClick={() => setOpen(true)}>
        {t('positions.closeAll')}
      </Button>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>{t('positions.closeAllTitle')}</AlertDialogTitle>
          <AlertDialogDescription>{t('positions.closeAllDescription', { count })}</AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel>{t('common.cancel')}</AlertDialogCancel>
          <Button variant="destructive" disabled={closeAll.isPending} onClick={confirm}>
            {t('positions.confirmCloseAll')}
          </Button>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  )
}
