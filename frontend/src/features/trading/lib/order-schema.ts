import { z } from 'zod'
import { Big, decimalsOf, isMultipleOf, pointSize, toBig } from '@/lib/decimal'
import type { Instrument, OrderType, Side } from '@/lib/types'
import type { PriceQuote } from '@/features/trading/lib/calc'

// The order ticket's rules. Messages are i18n keys (ticket.errors.*). The live quote is read at
// validation time through getContext(), so a tick does not rebuild the form.

export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const
export const EXPIRY_TYPES = ['gtc', 'day', 'specified'] as const

export interface OrderContext {
  instrument: Pick<
    Instrument,
    'symbol' | 'digits' | 'volume_min' | 'volume_max' | 'volume_step' | 'stops_level' | 'tradable'
  >
  quote: PriceQuote | undefined
  now: () => number
}

export const orderFormBase = z.object({
  side: z.enum(['buy', 'sell']),
  type: z.enum(ORDER_TYPES),
  volume: z.string(),
  price: z.string(),
  limit_price: z.string(),
  sl: z.string(),
  tp: z.string(),
  expiry: z.enum(EXPIRY_TYPES),
  expires_at: z.string(),
})

export type OrderFormValues = z.infer<typeof orderFormBase>

function tooManyDecimals(value: Big, digits: number): boolean {
  return !isMultipleOf(value, pointSize(digits))
}

type Issue = { path: keyof OrderFormValues; message: string }

function priceIssues(
  v: OrderFormValues,
  field: 'price' | 'limit_price',
  digits: number,
): { value: Big | null; issues: Issue[] } {
  const raw = v[field].trim()
  if (!raw) return { value: null, issues: [{ path: field, message: 'ticket.errors.priceRequired' }] }
  const value = toBig(raw)
  if (!value || value.lte(0)) return { value: null, issues: [{ path: field, message: 'ticket.errors.priceInvalid' }] }
  if (tooManyDecimals(value, digits)) return { value, issues: [{ path: field, message: 'ticket.errors.priceDigits' }] }
  return { value, issues: [] }
}

/** The price the order's SL/TP are measured from: entry for pending orders, the closing side for market. */
function referencePrice(side: Side, type: OrderType, entry: Big | null, limit: Big | null, quote: PriceQuote | undefined): Big | null {
  if (type === 'stop_limit') return limit
  if (type !== 'market') return entry
  if (!quote) return null
  // A long's SL/TP trigger on bid, a short's on ask.
  return toBig(side === 'buy' ? quote.bid : quote.ask)
}

/** Validate a ticket against the instrument's rules and the live price. */
export function validateOrder(v: OrderFormValues, ctx: OrderContext): Issue[] {
  const issues: Issue[] = []
  const { instrument: inst, quote } = ctx
  const stopDistance = pointSize(inst.digits).times(inst.stops_level || 0)

  // Volume: min, max, step.
  const volume = toBig(v.volume)
  const min = toBig(inst.volume_min)!
  const max = toBig(inst.volume_max)!
  const step = toBig(inst.volume_step)!
  if (!v.volume.trim()) issues.push({ path: 'volume', message: 'ticket.errors.volumeRequired' })
  else if (!volume || volume.lte(0)) issues.push({ path: 'volume', message: 'ticket.errors.volumeInvalid' })
  else if (volume.lt(min)) issues.push({ path: 'volume', message: 'ticket.errors.volumeMin' })
  else if (volume.gt(max)) issues.push({ path: 'volume', message: 'ticket.errors.volumeMax' })
  else if (!isMultipleOf(volume, step) || decimalsOf(volume) > decimalsOf(step))
    issues.push({ path: 'volume', message: 'ticket.errors.volumeStep' })

  if (!inst.tradable) issues.push({ path: 'type', message: 'ticket.errors.marketClosed' })
  if (v.type === 'market' && !quote) issues.push({ path: 'type', message: 'ticket.errors.noQuote' })

  // Pending prices and their side of the market.
  let entry: Big | null = null
  let limit: Big | null = null
  if (v.type !== 'market') {
    const p = priceIssues(v, 'price', inst.digits)
    entry = p.value
    issues.push(...p.issues)
    if (v.type === 'stop_limit') {
      const l = priceIssues(v, 'limit_price', inst.digits)
      limit = l.value
      issues.push(...l.issues)
    }
    const ask = quote ? toBig(quote.ask) : null
    const bid = quote ? toBig(quote.bid) : null
    if (entry && ask && bid && p.issues.length === 0) {
      const ref = v.side === 'buy' ? ask : bid
      // Buy limit below ask, buy stop above; sell limit above bid, sell stop below.
      const below = (v.type === 'limit') === (v.side === 'buy')
      const ok = below ? entry.lte(ref.minus(stopDistance)) : entry.gte(ref.plus(stopDistance))
      if (!ok) issues.push({ path: 'price', message: below ? 'ticket.errors.priceBelowMarket' : 'ticket.errors.priceAboveMarket' })
    }
    if (v.type === 'stop_limit' && entry && limit) {
      // The limit that a triggered buy stop places sits at or below the stop; a sell's at or above.
      const ok = v.side === 'buy' ? limit.lte(entry) : limit.gte(entry)
      if (!ok) issues.push({ path: 'limit_price', message: v.side === 'buy' ? 'ticket.errors.limitAboveStop' : 'ticket.errors.limitBelowStop' })
    }
  }

  // SL/TP: the right side of the reference price, at least the stops level away.
  const ref = referencePrice(v.side, v.type, entry, limit, quote)
  for (const field of ['sl', 'tp'] as const) {
    const raw = v[field].trim()
    if (!raw) continue
    const value = toBig(raw)
    if (!value || value.lte(0)) {
      issues.push({ path: field, message: 'ticket.errors.priceInvalid' })
      continue
    }
    if (tooManyDecimals(value, inst.digits)) {
      issues.push({ path: field, message: 'ticket.errors.priceDigits' })
      continue
    }
    if (!ref) continue
    const mustBeBelow = (field === 'sl') === (v.side === 'buy')
    const ok = mustBeBelow ? value.lte(ref.minus(stopDistance)) : value.gte(ref.plus(stopDistance))
    if (!ok) issues.push({ path: field, message: mustBeBelow ? `ticket.errors.${field}Below` : `ticket.errors.${field}Above` })
  }

  if (v.type !== 'market' && v.expiry === 'specified') {
    const t = Date.parse(v.expires_at)
    if (!v.expires_at || Number.isNaN(t)) issues.push({ path: 'expires_at', message: 'ticket.errors.expiryRequired' })
    else if (t <= ctx.now()) issues.push({ path: 'expires_at', message: 'ticket.errors.expiryPast' })
  }
  return issues
}

/** A zod schema whose refinement applies validateOrder with the context of the moment. */
export function makeOrderSchema(getContext: () => OrderContext | null) {
  return orderFormBase.superRefine((values, zctx) => {
    const ctx = getContext()
    if (!ctx) {
      zctx.addIssue({ code: 'custom', path: ['type'], message: 'ticket.errors.noInstrument' })
      return
    }
    for (const issue of validateOrder(values, ctx)) {
      zctx.addIssue({ code: 'custom', path: [issue.path], message: issue.message })
    }
  })
}

/** The POST /api/orders body for valid form values. */
export function toOrderPayload(v: OrderFormValues, accountId: number, symbol: string): Record<string, unknown> {
  const body: Record<string, unknown> = { account_id: accountId, symbol, side: v.side, type: v.type, volume: v.volume.trim() }
  if (v.type !== 'market') body.price = v.price.trim()
  if (v.type === 'stop_limit') body.limit_price = v.limit_price.trim()
  if (v.sl.trim()) body.sl = v.sl.trim()
  if (v.tp.trim()) body.tp = v.tp.trim()
  if (v.type !== 'market') {
    // "gtc", "day" or the moment it expires (ISO-8601, UTC).
    body.expiry = v.expiry === 'specified' ? new Date(v.expires_at).toISOString() : v.expiry
  }
  return body
}

/** SL/TP of an open position: each on its side of the closing price, at least the stops level away. */
export function validateProtection(
  side: Side,
  values: { sl: string; tp: string },
  ctx: Pick<OrderContext, 'instrument' | 'quote'>,
): Issue[] {
  const issues: Issue[] = []
  const digits = ctx.instrument.digits
  const stopDistance = pointSize(digits).times(ctx.instrument.stops_level || 0)
  const ref = ctx.quote ? toBig(side === 'buy' ? ctx.quote.bid : ctx.quote.ask) : null
  for (const field of ['sl', 'tp'] as const) {
    const raw = values[field].trim()
    if (!raw) continue
    const value = toBig(raw)
    if (!value || value.lte(0)) {
      issues.push({ path: field, message: 'ticket.errors.priceInvalid' })
      continue
    }
    if (tooManyDecimals(value, digits)) {
      issues.push({ path: field, message: 'ticket.errors.priceDigits' })
      continue
    }
    if (!ref) continue
    const mustBeBelow = (field === 'sl') === (side === 'buy')
    const ok = mustBeBelow ? value.lte(ref.minus(stopDistance)) : value.gte(ref.plus(stopDistance))
    if (!ok) issues.push({ path: field, message: mustBeBelow ? `ticket.errors.${field}Below` : `ticket.errors.${field}Above` })
  }
  return issues
}

/** Volume to close: a positive multiple of the step, at most the open volume. */
export function validateCloseVolume(
  raw: string,
  open: string,
  inst: Pick<Instrument, 'volume_min' | 'volume_step'>,
): string | null {
  const volume = toBig(raw)
  const openVolume = toBig(open)!
  const step = toBig(inst.volume_step)!
  if (!raw.trim()) return 'ticket.errors.volumeRequired'
  if (!volume || volume.lte(0)) return 'ticket.errors.volumeInvalid'
  if (volume.gt(openVolume)) return 'positions.errors.moreThanOpen'
  if (!isMultipleOf(volume, step)) return 'ticket.errors.volumeStep'
  if (volume.lt(openVolume) && volume.lt(toBig(inst.volume_min)!)) return 'ticket.errors.volumeMin'
  return null
}
