import { Big, toBig } from '@/lib/decimal'
import type { Instrument, Side } from '@/lib/types'

// Client-side estimates for the ticket and live P/L between server snapshots. The engine's
// figures are authoritative (same formulas: margin = volume × contract size × price / leverage,
// leverage = min(account, instrument), converted to the account currency at the current rate).

export interface PriceQuote {
  bid: string
  ask: string
}

export type QuoteLookup = (symbol: string) => PriceQuote | undefined

export function quoteCurrency(inst: Pick<Instrument, 'symbol' | 'quote_currency'>): string {
  if (inst.quote_currency) return inst.quote_currency
  return /^[A-Z]{6}$/.test(inst.symbol) ? inst.symbol.slice(3) : 'USD'
}

function mid(q: PriceQuote): Big | null {
  const bid = toBig(q.bid)
  const ask = toBig(q.ask)
  return bid && ask ? bid.plus(ask).div(2) : null
}

/** Rate that turns an amount in `from` into `to` (EUR→USD via EURUSD, JPY→USD via 1/USDJPY). */
export function conversionRate(from: string, to: string, lookup: QuoteLookup): Big | null {
  if (from === to) return new Big(1)
  const direct = lookup(`${from}${to}`)
  const d = direct && mid(direct)
  if (d && d.gt(0)) return d
  const inverse = lookup(`${to}${from}`)
  const i = inverse && mid(inverse)
  if (i && i.gt(0)) return new Big(1).div(i)
  return null
}

export function effectiveLeverage(accountLeverage: number, instrumentMax: number): number {
  return Math.max(1, Math.min(accountLeverage || 1, instrumentMax || 1))
}

/** Margin in the account currency; null when a needed price is missing. */
export function requiredMargin(args: {
  volume: string
  instrument: Pick<Instrument, 'symbol' | 'contract_size' | 'max_leverage' | 'quote_currency'>
  price: string | null | undefined
  accountLeverage: number
  accountCurrency: string
  lookup: QuoteLookup
}): Big | null {
  const volume = toBig(args.volume)
  const price = toBig(args.price ?? null)
  const size = toBig(args.instrument.contract_size)
  if (!volume || !price || !size) return null
  const rate = conversionRate(quoteCurrency(args.instrument), args.accountCurrency, args.lookup)
  if (!rate) return null
  const lev = effectiveLeverage(args.accountLeverage, args.instrument.max_leverage)
  return volume.times(size).times(price).div(lev).times(rate).round(2)
}

/** Floating P/L of a position in the account currency: longs close at bid, shorts at ask. */
export function positionProfit(args: {
  side: Side
  volume: string
  openPrice: string
  instrument: Pick<Instrument, 'symbol' | 'contract_size' | 'quote_currency'>
  quote: PriceQuote | undefined
  accountCurrency: string
  lookup: QuoteLookup
}): Big | null {
  if (!args.quote) return null
  const close = toBig(args.side === 'buy' ? args.quote.bid : args.quote.ask)
  const open = toBig(args.openPrice)
  const volume = toBig(args.volume)
  const size = toBig(args.instrument.contract_size)
  if (!close || !open || !volume || !size) return null
  const diff = args.side === 'buy' ? close.minus(open) : open.minus(close)
  const rate = conversionRate(quoteCurrency(args.instrument), args.accountCurrency, args.lookup)
  if (!rate) return null
  return diff.times(volume).times(size).times(rate).round(2)
}

/** Spread cost and commission (one side) of opening `volume` now, in the account currency. */
export function estimatedCosts(args: {
  volume: string
  instrument: Pick<Instrument, 'symbol' | 'contract_size' | 'quote_currency' | 'commission_per_lot'>
  quote: PriceQuote | undefined
  accountCurrency: string
  lookup: QuoteLookup
}): { spread: Big | null; commission: Big | null } {
  const volume = toBig(args.volume)
  const size = toBig(args.instrument.contract_size)
  const commissionPerLot = toBig(args.instrument.commission_per_lot ?? '0')
  const commission = volume && commissionPerLot ? volume.times(commissionPerLot).round(2) : null
  if (!args.quote || !volume || !size) return { spread: null, commission }
  const bid = toBig(args.quote.bid)
  const ask = toBig(args.quote.ask)
  const rate = conversionRate(quoteCurrency(args.instrument), args.accountCurrency, args.lookup)
  if (!bid || !ask || !rate) return { spread: null, commission }
  return { spread: ask.minus(bid).times(volume).times(size).times(rate).round(2), commission }
}

/** Spread in points (what traders read): (ask − bid) × 10^digits. */
export function spreadPoints(quote: PriceQuote | undefined, digits: number): string {
  if (!quote) return '—'
  const bid = toBig(quote.bid)
  const ask = toBig(quote.ask)
  if (!bid || !ask) return '—'
  return ask.minus(bid).times(new Big(10).pow(digits)).round(0).toString()
}
