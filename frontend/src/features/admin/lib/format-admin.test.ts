import { describe, expect, it } from 'vitest'
import '@/lib/i18n'
import en from '@/locales/en.json'
import { chainReason, formatAge, formatBytes, formatCount, parseEventPatterns, prettyJson, typedId } from '@/features/admin/lib/format-admin'
import { ACTOR_TYPES, OUTCOMES, SORT_FIELDS } from '@/features/admin/lib/audit-filters'
import { DELIVERY_STATUSES, USER_ROLES, USER_STATUSES } from '@/features/admin/lib/list-params'

describe('admin formatting', () => {
  it('shows ages in the largest fitting unit', () => {
    expect(formatAge(0.42)).toBe('0.4 sec')
    expect(formatAge(12.9)).toBe('12 sec')
    expect(formatAge(185)).toBe('3 min')
    expect(formatAge(7_300)).toBe('2 hr')
    expect(formatAge(3 * 86_400 + 5)).toBe('3 days')
    expect(formatAge(null)).toBe('—')
    expect(formatAge(-1)).toBe('—')
  })

  it('groups counts and sizes', () => {
    expect(formatCount(12_345)).toBe('12,345')
    expect(formatCount(null)).toBe('—')
    expect(formatBytes(183_224)).toBe('183.2 kB')
    expect(formatBytes(512)).toBe('512 byte')
  })

  it('names actors and targets as type:id', () => {
    expect(typedId('user', '42')).toBe('user:42')
    expect(typedId(null, '42')).toBe('42')
    expect(typedId('system', null)).toBe('system')
    expect(typedId(null, null)).toBeNull()
  })

  it('explains the chain verifier reasons it knows', () => {
    expect(chainReason('row content does not match its hash (row altered)')).toBe('altered')
    expect(chainReason('previous hash does not match (row removed or reordered)')).toBe('relinked')
    expect(chainReason('something new')).toBeNull()
    expect(chainReason(null)).toBeNull()
  })

  it('prints JSON with sorted keys', () => {
    expect(prettyJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      2,\n      {\n        "y": 0,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}',
    )
  })

  it('splits event patterns on commas and spaces, without duplicates', () => {
    expect(parseEventPatterns(' deposit.*, user.created,,user.created  kyc.status_changed ')).toEqual([
      'deposit.*',
      'user.created',
      'kyc.status_changed',
    ])
    expect(parseEventPatterns('  ')).toEqual([])
  })
})

type Tree = { [k: string]: string | Tree }
function has(key: string): boolean {
  let node: string | Tree | undefined = en as Tree
  for (const part of key.split('.')) {
    if (typeof node !== 'object') return false
    node = node[part]
  }
  return typeof node === 'string'
}

describe('admin locale coverage', () => {
  it('words every value the admin pages build keys from', () => {
    const keys = [
      ...ACTOR_TYPES.map((a) => `admin.actorType.${a}`),
      ...OUTCOMES.map((o) => `admin.outcome.${o}`),
      ...SORT_FIELDS.map((f) => `admin.audit.sortFields.${f}`),
      ...['ascending', 'descending', 'none'].map((d) => `admin.common.sort.${d}`),
      ...USER_ROLES.map((r) => `admin.users.roles.${r}`),
      ...USER_STATUSES.map((s) => `admin.users.status.${s}`),
      ...DELIVERY_STATUSES.map((s) => `admin.webhooks.status.${s}`),
      ...['ws', 'rest-fallback', 'down'].map((m) => `admin.system.modes.${m}`),
      ...['running', 'silent', 'unknown'].map((s) => `admin.system.engineStates.${s}`),
      ...['altered', 'relinked'].map((r) => `admin.chain.reasons.${r}`),
      ...['audit', 'users', 'webhooks', 'impersonations', 'system'].map((n) => `admin.nav.${n}`),
      ...['full', 'close_only', 'disabled'].map((r) => `admin.user.rights.${r}`),
      ...['admin_2fa_required', 'cannot_change_admin', 'endpoint_disabled', 'forbidden'].map((c) => `errors.${c}`),
    ]
    expect(keys.filter((k) => !has(k))).toEqual([])
  })
})
