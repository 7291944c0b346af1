import { describe, expect, it } from 'vitest'
import { direction, formatMoney, formatPercent, formatPrice, formatSigned, formatVolume } from '@/lib/format'
import { decimalsOf, fixed, isDecimal, isMultipleOf, toBig } from '@/lib/decimal'

describe('formatPrice', () => {
  it('pads to the instrument digits', () => {
    expect(formatPrice('1.0823', 5)).toBe('1.08230')
    expect(formatPrice('150.1', 3)).toBe('150.100')
  })
  it('keeps every digit of a long decimal exactly (no float rounding)', () => {
    expect(formatPrice('95123.455', 2)).toBe('95,123.46')
    expect(formatPrice('0.1', 1)).toBe('0.1')
    expect(formatPrice('123456789012.34567', 5)).toBe('123,456,789,012.34567')
  })
  it('shows a dash when there is no price', () => {
    expect(formatPrice(undefined, 5)).toBe('—')
    expect(formatPrice(null, 2)).toBe('—')
    expect(formatPrice('abc', 2)).toBe('—')
  })
})

describe('formatMoney and formatSigned', () => {
  it('formats currency amounts with two decimals', () => {
    expect(formatMoney('10000', 'USD')).toBe('$10,000.00')
    expect(formatMoney('-5.5', 'USD')).toBe('-$5.50')
  })
  it('signs P/L with + and a real minus so colour is not the only cue', () => {
    expect(formatSigned('12.5')).toBe('+12.50')
    expect(formatSigned('-3.2')).toBe('\u22123.20')
    expect(formatSigned('0')).toBe('0.00')
    expect(formatSigned('-0.001')).toBe('0.00')
  })
  it('reports the direction of a value', () => {
    expect(direction('1')).toBe('up')
    expect(direction('-0.01')).toBe('down')
    expect(direction('0')).toBe('flat')
    expect(direction(null)).toBe('flat')
  })
  it('formats volumes and percentages', () => {
    expect(formatVolume('0.1')).toBe('0.10')
    expect(formatPercent('245.314')).toBe('245.31 %')
    expect(formatPercent(null)).toBe('—')
  })
})

describe('decimal helpers', () => {
  it('parses only plain decimals', () => {
    expect(isDecimal('1.25')).toBe(true)
    expect(isDecimal('-3')).toBe(true)
    expect(isDecimal('1e5')).toBe(false)
    expect(isDecimal('')).toBe(false)
    expect(toBig('1,5')?.toString()).toBe('1.5')
    expect(toBig('x')).toBeNull()
  })
  it('checks steps exactly where floats fail', () => {
    // 0.3 % 0.1 is not 0 in floating point; it is in decimal.
    expect(isMultipleOf(toBig('0.3')!, toBig('0.1')!)).toBe(true)
    expect(isMultipleOf(toBig('0.07')!, toBig('0.01')!)).toBe(true)
    expect(isMultipleOf(toBig('0.015')!, toBig('0.01')!)).toBe(false)
    expect(decimalsOf('0.01')).toBe(2)
    expect(decimalsOf('1')).toBe(0)
    expect(fixed('1.005', 2)).toBe('1.01')
  })
})
