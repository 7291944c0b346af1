import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import en from '@/locales/en.json'

// Static keys are checked by tsc (typed t()); these cover keys built at run time.
type Tree = { [k: string]: string | Tree }
function has(key: string): boolean {
  let node: string | Tree | undefined = en as Tree
  for (const part of key.split('.')) {
    if (typeof node !== 'object') return false
    node = node[part]
  }
  return typeof node === 'string'
}

const root = path.resolve(import.meta.dirname, '../../..')

describe('locale coverage', () => {
  it('translates every rejection code the engine can answer with', () => {
    const source = readFileSync(path.join(root, 'engine/contracts.py'), 'utf8')
    const block = source.slice(source.indexOf('REJECT_CODES = frozenset('))
    const codes = [...block.slice(0, block.indexOf(')')).matchAll(/"([a-z_]+)"/g)].map((m) => m[1]!)
    expect(codes.length).toBeGreaterThan(10)
    // Codes that the API turns into 404/500 or that only the back office sees are still worded.
    const missing = codes.filter((c) => !has(`errors.${c}`) && !['account_exists', 'duplicate_external_id', 'hold_not_found', 'unknown_user', 'internal_error'].includes(c))
    expect(missing).toEqual([])
  })

  it('has every dynamic key family', () => {
    const keys = [
      ...['market', 'limit', 'stop', 'stop_limit'].map((t) => `ticket.type.${t}`),
      ...['buy', 'sell'].map((s) => `ticket.side.${s}`),
      ...['gtc', 'day', 'specified'].map((e) => `ticket.expiryType.${e}`),
      ...['live', 'fallback', 'down', 'connecting'].map((s) => `feed.${s}`),
      ...['live', 'demo'].map((s) => `account.type.${s}`),
      ...['passport', 'id_card', 'proof_of_address', 'selfie', 'other'].map((s) => `kyc.types.${s}`),
      ...['bank_transfer', 'card', 'crypto'].map((s) => `funds.methods.${s}`),
      ...['deposits', 'withdrawals'].flatMap((k) => ['description', 'empty', 'formTitle', 'history', 'submit', 'submitted', 'tab'].map((f) => `funds.${k}.${f}`)),
      ...['pending', 'approved', 'declined', 'rejected', 'cancelled'].map((s) => `status.${s}`),
      ...['up', 'down', 'flat'].map((s) => `common.direction.${s}`),
      ...['system', 'light', 'dark'].map((s) => `theme.${s}`),
      ...['sl', 'tp'].flatMap((f) => ['Below', 'Above'].map((d) => `ticket.errors.${f}${d}`)),
      ...['invalid_credentials', 'email_not_verified', 'account_disabled', 'rate_limited', 'invalid_code', 'weak_password', 'impersonation_forbidden'].map(
        (c) => `errors.${c}`,
      ),
    ]
    expect(keys.filter((k) => !has(k))).toEqual([])
  })

  it('uses every validation message key that the schemas name', () => {
    const files = ['features/trading/lib/order-schema.ts', 'features/auth/lib/schemas.ts', 'features/funds/lib/schema.ts', 'features/kyc/api/kyc.ts']
    const used = files.flatMap((f) =>
      [...readFileSync(path.join(root, 'frontend/src', f), 'utf8').matchAll(/'((?:ticket|validation|funds|kyc|positions)\.errors?\.[a-zA-Z]+|validation\.[a-zA-Z]+)'/g)].map((m) => m[1]!),
    )
    expect(used.length).toBeGreaterThan(20)
    expect(used.filter((k) => !has(k))).toEqual([])
  })
})
