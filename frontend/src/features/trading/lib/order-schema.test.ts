import { describe, expect, it } from 'vitest'
import {
  makeOrderSchema,
  toOrderPayload,
  validateCloseVolume,
  validateOrder,
  validateProtection,
  type OrderContext,
  type OrderFormValues,
} from '@/features/trading/lib/order-schema'

const instrument = {
  symbol: 'EURUSD',
  digits: 5,
  volume_min: '0.01',
  volume_max: '100',
  volume_step: '0.01',
  stops_level: 10, // 10 points = 0.00010
  tradable: true,
}
const quote = { bid: '1.08000', ask: '1.08010' }
const NOW = Date.parse('2026-03-02T10:00:00Z')
const ctx: OrderContext = { instrument, quote, now: () => NOW }

function order(over: Partial<OrderFormValues> = {}): OrderFormValues {
  return { side: 'buy', type: 'market', volume: '0.10', price: '', limit_price: '', sl: '', tp: '', expiry: 'gtc', expires_at: '', ...over }
}
const messages = (v: OrderFormValues, c: OrderContext = ctx) => validateOrder(v, c).map((i) => `${i.path}:${i.message}`)

describe('volume rules', () => {
  it('accepts a valid market order', () => {
    expect(messages(order())).toEqual([])
  })
  it.each([
    ['', 'volume:ticket.errors.volumeRequired'],
    ['abc', 'volume:ticket.errors.volumeInvalid'],
    ['0', 'volume:ticket.errors.volumeInvalid'],
    ['0.001', 'volume:ticket.errors.volumeMin'],
    ['100.01', 'volume:ticket.errors.volumeMax'],
    ['0.015', 'volume:ticket.errors.volumeStep'],
  ])('volume %s → %s', (volume, expected) => {
    expect(messages(order({ volume }))).toEqual([expected])
  })
  it('accepts every whole step, exactly (0.07 lots)', () => {
    expect(messages(order({ volume: '0.07' }))).toEqual([])
  })
})

describe('market state', () => {
  it('refuses a market order without a live price', () => {
    expect(messages(order(), { ...ctx, quote: undefined })).toContain('type:ticket.errors.noQuote')
  })
  it('refuses when the market is closed', () => {
    expect(messages(order(), { ...ctx, instrument: { ...instrument, tradable: false } })).toContain('type:ticket.errors.marketClosed')
  })
})

describe('pending order prices', () => {
  it('needs a price with at most the instrument digits', () => {
    expect(messages(order({ type: 'limit' }))).toEqual(['price:ticket.errors.priceRequired'])
    expect(messages(order({ type: 'limit', price: '1.079001' }))).toEqual(['price:ticket.errors.priceDigits'])
  })
  it('puts a buy limit below ask and a buy stop above it, by the stops level', () => {
    expect(messages(order({ type: 'limit', price: '1.07990' }))).toEqual([]) // ask − 0.00020
    expect(messages(order({ type: 'limit', price: '1.08005' }))).toEqual(['price:ticket.errors.priceBelowMarket'])
    expect(messages(order({ type: 'stop', price: '1.08020' }))).toEqual([]) // exactly ask + stops level
    expect(messages(order({ type: 'stop', price: '1.08015' }))).toEqual(['price:ticket.errors.priceAboveMarket'])
  })
  it('puts a sell limit above bid and a sell stop below it', () => {
    expect(messages(order({ side: 'sell', type: 'limit', price: '1.08100' }))).toEqual([])
    expect(messages(order({ side: 'sell', type: 'limit', price: '1.07900' }))).toEqual(['price:ticket.errors.priceAboveMarket'])
    expect(messages(order({ side: 'sell', type: 'stop', price: '1.07900' }))).toEqual([])
    expect(messages(order({ side: 'sell', type: 'stop', price: '1.08100' }))).toEqual(['price:ticket.errors.priceBelowMarket'])
  })
  it('keeps a stop-limit limit on the right side of its stop', () => {
    expect(messages(order({ type: 'stop_limit', price: '1.08100', limit_price: '1.08090' }))).toEqual([])
    expect(messages(order({ type: 'stop_limit', price: '1.08100', limit_price: '1.08110' }))).toEqual(['limit_price:ticket.errors.limitAboveStop'])
    expect(messages(order({ side: 'sell', type: 'stop_limit', price: '1.07900', limit_price: '1.07890' }))).toEqual([
      'limit_price:ticket.errors.limitBelowStop',
    ])
    expect(messages(order({ type: 'stop_limit', price: '1.08100' }))).toEqual(['limit_price:ticket.errors.priceRequired'])
  })
  it('needs a future expiry when one is specified', () => {
    const base = order({ type: 'limit', price: '1.07900', expiry: 'specified' })
    expect(messages(base)).toEqual(['expires_at:ticket.errors.expiryRequired'])
    expect(messages({ ...base, expires_at: '2026-03-01T10:00' })).toEqual(['expires_at:ticket.errors.expiryPast'])
    expect(messages({ ...base, expires_at: '2026-03-09T10:00' })).toEqual([])
  })
})

describe('stop loss and take profit', () => {
  it('for a market buy: SL below bid, TP above it, at least the stops level away', () => {
    expect(messages(order({ sl: '1.07900', tp: '1.08200' }))).toEqual([])
    expect(messages(order({ sl: '1.07995' }))).toEqual(['sl:ticket.errors.slBelow'])
    expect(messages(order({ tp: '1.07900' }))).toEqual(['tp:ticket.errors.tpAbove'])
  })
  it('for a market sell: SL above ask, TP below it', () => {
    expect(messages(order({ side: 'sell', sl: '1.08100', tp: '1.07900' }))).toEqual([])
    expect(messages(order({ side: 'sell', sl: '1.07900' }))).toEqual(['sl:ticket.errors.slAbove'])
    expect(messages(order({ side: 'sell', tp: '1.08100' }))).toEqual(['tp:ticket.errors.tpBelow'])
  })
  it('for pending orders: measured from the entry price', () => {
    expect(messages(order({ type: 'limit', price: '1.07000', sl: '1.06900', tp: '1.07500' }))).toEqual([])
    // Above the entry: wrong for a buy's stop loss even though it is below the market.
    expect(messages(order({ type: 'limit', price: '1.07000', sl: '1.07500' }))).toEqual(['sl:ticket.errors.slBelow'])
  })
  it('rejects malformed levels', () => {
    expect(messages(order({ sl: '-1' }))).toEqual(['sl:ticket.errors.priceInvalid'])
    expect(messages(order({ tp: '1.082001' }))).toEqual(['tp:ticket.errors.priceDigits'])
  })
})

describe('zod schema and payload', () => {
  it('reads the context at validation time', () => {
    let current: OrderContext | null = ctx
    const schema = makeOrderSchema(() => current)
    expect(schema.safeParse(order()).success).toBe(true)
    current = { ...ctx, quote: undefined }
    const res = schema.safeParse(order())
    expect(res.success).toBe(false)
    expect(res.error?.issues[0]?.message).toBe('ticket.errors.noQuote')
    current = null
    expect(schema.safeParse(order()).success).toBe(false)
  })
  it('builds the API body with decimal strings only', () => {
    expect(toOrderPayload(order({ sl: ' 1.07900 ' }), 7, 'EURUSD')).toEqual({
      account_id: 7,
      symbol: 'EURUSD',
      side: 'buy',
      type: 'market',
      volume: '0.10',
      sl: '1.07900',
    })
    const pending = toOrderPayload(order({ type: 'stop_limit', price: '1.081', limit_price: '1.0809', expiry: 'day' }), 7, 'EURUSD')
    expect(pending).toMatchObject({ price: '1.081', limit_price: '1.0809', expiry: 'day' })
    const timed = toOrderPayload(order({ type: 'limit', price: '1.07', expiry: 'specified', expires_at: '2026-03-09T10:00:00Z' }), 7, 'EURUSD')
    expect(timed.expiry).toBe('2026-03-09T10:00:00.000Z')
  })
})

describe('open positions', () => {
  it('validates TP/SL against the closing price', () => {
    const c = { instrument, quote }
    expect(validateProtection('buy', { sl: '1.07900', tp: '' }, c)).toEqual([])
    expect(validateProtection('buy', { sl: '1.08005', tp: '' }, c).map((i) => i.message)).toEqual(['ticket.errors.slBelow'])
    expect(validateProtection('sell', { sl: '', tp: '1.08100' }, c).map((i) => i.message)).toEqual(['ticket.errors.tpBelow'])
  })
  it('validates partial close volumes', () => {
    expect(validateCloseVolume('0.05', '0.10', instrument)).toBeNull()
    expect(validateCloseVolume('0.10', '0.10', instrument)).toBeNull()
    expect(validateCloseVolume('0.11', '0.10', instrument)).toBe('positions.errors.moreThanOpen')
    expect(validateCloseVolume('0.015', '0.10', instrument)).toBe('ticket.errors.volumeStep')
    expect(validateCloseVolume('', '0.10', instrument)).toBe('ticket.errors.volumeRequired')
  })
})
