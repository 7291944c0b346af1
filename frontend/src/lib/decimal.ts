import Big from 'big.js'

// Money and prices arrive as decimal strings and stay exact: big.js, never JS floats.
Big.DP = 12
Big.RM = Big.roundHalfUp

export type DecimalLike = string | number | Big

const DECIMAL_RE = /^-?\d+(\.\d+)?$/

/** True when the string is a plain decimal number (what the API sends and forms accept). */
export function isDecimal(value: string | null | undefined): value is string {
  return typeof value === 'string' && DECIMAL_RE.test(value.trim())
}

/** Parse a decimal string; null for empty or malformed input. */
export function toBig(value: DecimalLike | null | undefined): Big | null {
  if (value === null || value === undefined) return null
  if (value instanceof Big) return value
  if (typeof value === 'number') return Number.isFinite(value) ? new Big(value) : null
  const trimmed = value.trim().replace(',', '.')
  return DECIMAL_RE.test(trimmed) ? new Big(trimmed) : null
}

/** True when `value` is a whole number of `step`s (volume steps, price ticks). */
export function isMultipleOf(value: Big, step: Big): boolean {
  if (step.lte(0)) return true
  return value.mod(step).eq(0)
}

/** Number of decimals in a step such as "0.01" → 2. */
export function decimalsOf(step: DecimalLike): number {
  const s = toBig(step)?.toString() ?? '0'
  const dot = s.indexOf('.')
  return dot === -1 ? 0 : s.length - dot - 1
}

/** Round to `digits` decimals and return a fixed-point string. */
export function fixed(value: DecimalLike, digits: number, mode: Big.RoundingMode = Big.roundHalfUp): string {
  const b = toBig(value)
  return b ? b.round(digits, mode).toFixed(digits) : ''
}

/** One point (the smallest price change) for an instrument with `digits` decimals. */
export function pointSize(digits: number): Big {
  return new Big(1).div(new Big(10).pow(digits))
}

export { Big }
