import { describe, expect, it } from 'vitest'
import { makeFundsSchema } from '@/features/funds/lib/schema'

const issues = (amount: string, max: string | null = null) => {
  const res = makeFundsSchema((id) => (id === '1' ? max : '0')).safeParse({ account_id: '1', amount, method: 'card' })
  return res.success ? [] : res.error.issues.map((i) => i.message)
}

describe('funds form', () => {
  it('accepts a positive amount with at most two decimals', () => {
    expect(issues('250.50')).toEqual([])
    expect(issues('1')).toEqual([])
  })
  it.each([
    ['', 'funds.errors.amountRequired'],
    ['0', 'funds.errors.amountPositive'],
    ['-5', 'funds.errors.amountPositive'],
    ['abc', 'funds.errors.amountPositive'],
    ['10.005', 'funds.errors.amountDecimals'],
  ])('refuses %j', (amount, message) => {
    expect(issues(amount)).toEqual([message])
  })
  it('keeps withdrawals within the free margin, exactly', () => {
    expect(issues('100.00', '100.00')).toEqual([])
    expect(issues('100.01', '100.00')).toEqual(['funds.errors.beyondFreeMargin'])
  })
})
