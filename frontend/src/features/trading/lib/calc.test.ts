import { describe, expect, it } from 'vitest'
import { conversionRate, effectiveLeverage, estimatedCosts, positionProfit, requiredMargin, spreadPoints, type PriceQuote } from '@/features/trading/lib/calc'

const quotes: Record<string, PriceQuote> = {
  EURUSD: { bid: '1.08000', ask: '1.08010' },
  USDJPY: { bid: '150.000', ask: '150.020' },
  XAUUSD: { bid: '2600.00', ask: '2600.30' },
}
const lookup = (s: string) => quotes[s]

const eurusd = { symbol: 'EURUSD', contract_size: '100000', max_leverage: 500, quote_currency: 'USD', commission_per_lot: '3.00' }
const usdjpy = { symbol: 'USDJPY', contract_size: '100000', max_leverage: 500, quote_currency: 'JPY' }
const gold = { symbol: 'XAUUSD', contract_size: '100', max_leverage: 100, quote_currency: 'USD' }

describe('conversion', () => {
  it('converts through the direct or the inverse pair', () => {
    expect(conversionRate('USD', 'USD', lookup)?.toString()).toBe('1')
    expect(conversionRate('EUR', 'USD', lookup)?.toString()).toBe('1.08005')
    expect(conversionRate('JPY', 'USD', lookup)?.times(150.01).round(6).toString()).toBe('1')
    expect(conversionRate('CHF', 'USD', lookup)).toBeNull()
  })
  it('caps leverage by the instrument', () => {
    expect(effectiveLeverage(1000, 100)).toBe(100)
    expect(effectiveLeverage(50, 500)).toBe(50)
  })
})

describe('requiredMargin', () => {
  it('is volume × contract × price / leverage for a USD-quoted symbol', () => {
    const m = requiredMargin({ volume: '1', instrument: eurusd, price: '1.08010', accountLeverage: 100, accountCurrency: 'USD', lookup })
    expect(m?.toString()).toBe('1080.1')
  })
  it('uses the instrument cap and converts JPY into USD', () => {
    const gm = requiredMargin({ volume: '0.5', instrument: gold, price: '2600.30', accountLeverage: 500, accountCurrency: 'USD', lookup })
    expect(gm?.toString()).toBe('1300.15')
    const jm = requiredMargin({ volume: '1', instrument: usdjpy, price: '150.020', accountLeverage: 100, accountCurrency: 'USD', lookup })
    // 100000 × 150.02 / 100 JPY ≈ 1000 USD
    expect(Number(jm?.toString())).toBeCloseTo(1000.07, 1)
  })
  it('is unknown without a price', () => {
    expect(requiredMargin({ volume: '1', instrument: eurusd, price: '', accountLeverage: 100, accountCurrency: 'USD', lookup })).toBeNull()
  })
})

describe('positionProfit', () => {
  it('closes longs at bid and shorts at ask', () => {
    const long = positionProfit({ side: 'buy', volume: '1', openPrice: '1.07900', instrument: eurusd, quote: quotes.EURUSD, accountCurrency: 'USD', lookup })
    expect(long?.toString()).toBe('100')
    const short = positionProfit({ side: 'sell', volume: '0.1', openPrice: '1.07900', instrument: eurusd, quote: quotes.EURUSD, accountCurrency: 'USD', lookup })
    expect(short?.toString()).toBe('-11')
  })
  it('is unknown without a quote', () => {
    expect(positionProfit({ side: 'buy', volume: '1', openPrice: '1', instrument: eurusd, quote: undefined, accountCurrency: 'USD', lookup })).toBeNull()
  })
})

describe('costs', () => {
  it('prices the spread and the commission of opening', () => {
    const c = estimatedCosts({ volume: '2', instrument: eurusd, quote: quotes.EURUSD, accountCurrency: 'USD', lookup })
    expect(c.spread?.toString()).toBe('20')
    expect(c.commission?.toString()).toBe('6')
    expect(spreadPoints(quotes.EURUSD, 5)).toBe('10')
    expect(spreadPoints(undefined, 5)).toBe('—')
  })
})
