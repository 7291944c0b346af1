import { useMemo } from 'react'
import { useForm, useWatch, type UseFormRegisterReturn } from 'react-hook-form'
import { zodResolver } from '@hookform/resolvers/zod'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { ArrowDownIcon, ArrowUpIcon, MinusIcon, PlusIcon } from 'lucide-react'
import { ApiError } from '@/lib/api-client'
import { decimalsOf, toBig } from '@/lib/decimal'
import { errorMessage, fieldMessage } from '@/lib/errors'
import { formatMoney, formatPrice, formatVolume } from '@/lib/format'
import { getQuote, useQuote } from '@/lib/ws/quote-store'
import { newIdempotencyKey } from '@/lib/utils'
import type { Account, Instrument } from '@/lib/types'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { NativeSelect } from '@/components/ui/native-select'
import { Alert } from '@/components/ui/alert'
import { usePlaceOrder } from '@/features/trading/api/trading'
import { estimatedCosts, requiredMargin, spreadPoints, type QuoteLookup } from '@/features/trading/lib/calc'
import {
  EXPIRY_TYPES,
  makeOrderSchema,
  ORDER_TYPES,
  toOrderPayload,
  type OrderContext,
  type OrderFormValues,
} from '@/features/trading/lib/order-schema'

interface Props {
  instrument: Instrument
  account: Account | undefined
  /** side preselected by the phone's Buy/Sell buttons */
  initialSide?: 'buy' | 'sell'
  onPlaced?: () => void
}

const lookup: QuoteLookup = (symbol) => getQuote(symbol)

export function OrderTicket({ instrument, account, initialSide = 'buy', onPlaced }: Props) {
  const { t } = useTranslation()
  const quote = useQuote(instrument.symbol)
  const place = usePlaceOrder()
  // The schema reads the live quote when it validates, so ticks do not rebuild the form.
  const schema = useMemo(
    () => makeOrderSchema((): OrderContext => ({ instrument, quote: getQuote(instrument.symbol), now: () => Date.now() })),
    [instrument],
  )
  const form = useForm<OrderFormValues>({
    resolver: zodResolver(schema),
    mode: 'onSubmit',
    reValidateMode: 'onChange',
    defaultValues: {
      side: initialSide,
      type: 'market',
      volume: instrument.volume_min,
      price: '',
      limit_price: '',
      sl: '',
      tp: '',
      expiry: 'gtc',
      expires_at: '',
    },
  })
  const { register, handleSubmit, setValue, formState, control, setError } = form
  const values = useWatch({ control }) as OrderFormValues
  const side = values.side
  const type = values.type
  const digits = instrument.digits
  const stepDigits = decimalsOf(instrument.volume_step)
  const id = (name: string) => `ticket-${instrument.symbol}-${name}`
  const err = (name: keyof OrderFormValues) => fieldMessage(t, formState.errors[name]?.message)

  const currency = account?.currency ?? 'USD'
  const entryPrice = type === 'market' ? (side === 'buy' ? quote?.ask : quote?.bid) : type === 'stop_limit' ? values.limit_price : values.price
  const margin = account
    ? requiredMargin({
        volume: values.volume,
        instrument,
        price: entryPrice,
        accountLeverage: account.leverage,
        accountCurrency: currency,
        lookup,
      })
    : null
  const costs = estimatedCosts({ volume: values.volume, instrument, quote, accountCurrency: currency, lookup })
  const freeMargin = toBig(account?.free_margin ?? null)
  const marginShort = margin && freeMargin ? margin.gt(freeMargin) : false
  const rights = account?.trading_rights ?? 'full'

  function stepVolume(dir: 1 | -1) {
    const current = toBig(values.volume) ?? toBig(instrument.volume_min)!
    const step = toBig(instrument.volume_step)!
    let next = current.plus(step.times(dir))
    const min = toBig(instrument.volume_min)!
    const max = toBig(instrument.volume_max)!
    if (next.lt(min)) next = min
    if (next.gt(max)) next = max
    setValue('volume', next.toFixed(stepDigits), { shouldValidate: formState.isSubmitted })
  }

  async function onSubmit(v: OrderFormValues) {
    if (!account) return
    try {
      const result = await place.mutateAsync({
        body: toOrderPayload(v, account.id, instrument.symbol),
        idempotencyKey: newIdempotencyKey(),
      })
      const what = t(`ticket.side.${v.side}`)
      if (result.accepted) {
        toast.info(t('ticket.accepted'))
      } else if (result.order?.status === 'rejected') {
        toast.error(t('ticket.rejected', { reason: errorMessage(t, new ApiError(422, result.order.reject_code ?? 'rejected', '')) }))
        return
      } else if (v.type === 'market') {
        const price = result.position?.open_price ?? result.order?.fill_price ?? undefined
        toast.success(
          t('ticket.filled', { side: what, volume: formatVolume(v.volume, stepDigits), symbol: instrument.symbol, price: formatPrice(price, digits) }),
        )
      } else {
        toast.success(t('ticket.placed', { side: what, type: t(`ticket.type.${v.type}`), symbol: instrument.symbol }))
      }
      setValue('sl', '')
      setValue('tp', '')
      onPlaced?.()
    } catch (e) {
      if (e instanceof ApiError && e.fields) {
        for (const [field, msg] of Object.entries(e.fields)) {
          if (field in v) setError(field as keyof OrderFormValues, { type: 'server', message: Array.isArray(msg) ? String(msg[0]) : String(msg) })
        }
      }
      toast.error(t('ticket.rejected', { reason: errorMessage(t, e) }))
    }
  }

  const bid = formatPrice(quote?.bid, digits)
  const ask = formatPrice(quote?.ask, digits)

  return (
    <form
      aria-label={t('ticket.label', { symbol: instrument.symbol })}
      className="flex flex-col gap-3"
      noValidate
      onSubmit={handleSubmit(onSubmit)}
    >
      <div className="flex items-baseline justify-between gap-2">
        <div>
          <h2 className="text-base font-semibold">{instrument.symbol}</h2>
          <p className="text-xs text-muted-foreground">{instrument.description}</p>
        </div>
        <p className="text-xs text-muted-foreground num">
          {t('ticket.spread', { points: spreadPoints(quote, digits) })}
        </p>
      </div>

      <fieldset className="grid grid-cols-2 gap-2">
        <legend className="sr-only">{t('ticket.sideLabel')}</legend>
        {(['sell', 'buy'] as const).map((s) => (
          <button
            key={s}
            type="button"
            aria-pressed={side === s}
            onClick={() => setValue('side', s, { shouldValidate: formState.isSubmitted })}
            className={
              'flex min-h-14 flex-col items-center justify-center rounded-md border-2 px-2 py-1.5 text-sm transition-colors focus-visible:outline-none focus-visible:ring-[3px] focus-visible:ring-ring/60 ' +
              (side === s
                ? s === 'buy'
                  ? 'border-up bg-up text-up-foreground'
                  : 'border-down bg-down text-down-foreground'
                : 'border-input bg-background hover:bg-accent')
            }
          >
            <span className="flex items-center gap-1 font-semibold uppercase">
              {s === 'buy' ? <ArrowUpIcon aria-hidden className="size-4" /> : <ArrowDownIcon aria-hidden className="size-4" />}
              {t(`ticket.side.${s}`)}
            </span>
            <span className="num text-base font-semibold">{s === 'buy' ? ask : bid}</span>
          </button>
        ))}
      </fieldset>

      <Field id={id('type')} label={t('ticket.orderType')} error={err('type')}>
        <NativeSelect {...register('type')}>
          {ORDER_TYPES.map((o) => (
            <option key={o} value={o}>
              {t(`ticket.type.${o}`)}
            </option>
          ))}
        </NativeSelect>
      </Field>

      <Field
        id={id('volume')}
        label={t('ticket.volume')}
        hint={t('ticket.volumeHint', {
          min: instrument.volume_min,
          max: instrument.volume_max,
          step: instrument.volume_step,
        })}
        error={err('volume')}
      >
        <VolumeInput
          inputProps={register('volume')}
          onStep={stepVolume}
          labels={{ dec: t('ticket.volumeDown'), inc: t('ticket.volumeUp') }}
        />
      </Field>

      {type !== 'market' ? (
        <Field id={id('price')} label={type === 'stop_limit' ? t('ticket.stopPrice') : t('ticket.price')} error={err('price')}>
          <Input inputMode="decimal" autoComplete="off" className="num" placeholder={side === 'buy' ? ask : bid} {...register('price')} />
        </Field>
      ) : null}
      {type === 'stop_limit' ? (
        <Field id={id('limit')} label={t('ticket.limitPrice')} error={err('limit_price')}>
          <Input inputMode="decimal" autoComplete="off" className="num" {...register('limit_price')} />
        </Field>
      ) : null}

      <div className="grid grid-cols-2 gap-2">
        <Field id={id('sl')} label={t('ticket.sl')} error={err('sl')}>
          <Input inputMode="decimal" autoComplete="off" className="num" placeholder={t('ticket.optional')} {...register('sl')} />
        </Field>
        <Field id={id('tp')} label={t('ticket.tp')} error={err('tp')}>
          <Input inputMode="decimal" autoComplete="off" className="num" placeholder={t('ticket.optional')} {...register('tp')} />
        </Field>
      </div>

      {type !== 'market' ? (
        <div className="grid grid-cols-2 gap-2">
          <Field id={id('expiry')} label={t('ticket.expiry')}>
            <NativeSelect {...register('expiry')}>
              {EXPIRY_TYPES.map((e) => (
                <option key={e} value={e}>
                  {t(`ticket.expiryType.${e}`)}
                </option>
              ))}
            </NativeSelect>
          </Field>
          {values.expiry === 'specified' ? (
            <Field id={id('expires')} label={t('ticket.expiresAt')} error={err('expires_at')}>
              <Input type="datetime-local" {...register('expires_at')} />
            </Field>
          ) : null}
        </div>
      ) : null}

      <dl className="grid grid-cols-2 gap-x-3 gap-y-1 rounded-md bg-muted/60 p-2.5 text-xs">
        <dt className="text-muted-foreground">{t('ticket.requiredMargin')}</dt>
        <dd className="text-right num font-medium" data-testid="required-margin">
          {margin ? formatMoney(margin.toString(), currency) : '—'}
        </dd>
        <dt className="text-muted-foreground">{t('ticket.freeMargin')}</dt>
        <dd className="text-right num">{formatMoney(account?.free_margin, currency)}</dd>
        <dt className="text-muted-foreground">{t('ticket.spreadCost')}</dt>
        <dd className="text-right num">{costs.spread ? formatMoney(costs.spread.toString(), currency) : '—'}</dd>
        <dt className="text-muted-foreground">{t('ticket.commission')}</dt>
        <dd className="text-right num">{costs.commission ? formatMoney(costs.commission.toString(), currency) : '—'}</dd>
      </dl>

      {marginShort ? <Alert variant="warning">{t('ticket.marginWarning')}</Alert> : null}
      {rights !== 'full' ? (
        <Alert variant="warning">{t(rights === 'close_only' ? 'ticket.closeOnly' : 'ticket.tradingDisabled')}</Alert>
      ) : null}
      {!instrument.tradable ? <Alert variant="warning">{t('ticket.marketClosedNote')}</Alert> : null}

      <Button
        type="submit"
        size="lg"
        variant={side === 'buy' ? 'buy' : 'sell'}
        disabled={!account || place.isPending || rights !== 'full'}
        className="w-full"
      >
        {place.isPending
          ? t('ticket.sending')
          : t(type === 'market' ? 'ticket.submitMarket' : 'ticket.submitPending', {
              side: t(`ticket.side.${side}`),
              volume: toBig(values.volume) ? values.volume.trim() : '0',
              symbol: instrument.symbol,
              type: t(`ticket.type.${type}`),
            })}
      </Button>
    </form>
  )
}

function VolumeInput({
  inputProps,
  onStep,
  labels,
  ...rest
}: {
  inputProps: UseFormRegisterReturn<'volume'>
  onStep: (dir: 1 | -1) => void
  labels: { dec: string; inc: string }
  id?: string
  'aria-invalid'?: boolean
  'aria-describedby'?: string
}) {
  return (
    <div className="flex items-center gap-1">
      <Button type="button" variant="outline" size="icon" aria-label={labels.dec} onClick={() => onStep(-1)}>
        <MinusIcon aria-hidden />
      </Button>
      <Input inputMode="decimal" autoComplete="off" className="num text-center" {...inputProps} {...rest} />
      <Button type="button" variant="outline" size="icon" aria-label={labels.inc} onClick={() => onStep(1)}>
        <PlusIcon aria-hidden />
      </Button>
    </div>
  )
}
