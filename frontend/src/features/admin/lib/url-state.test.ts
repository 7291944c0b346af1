import { describe, expect, it } from 'vitest'
import { isoToLocalInput, localInputToIso, pageCount, writeParams } from '@/features/admin/lib/url-state'
import { listApiQuery, listParams, parseEventParams, parseImpersonationParams, parseUserParams } from '@/features/admin/lib/list-params'

describe('date-time inputs', () => {
  it('turns a local date-time into the same instant in ISO form, and back', () => {
    const iso = localInputToIso('2026-11-29T10:30')
    expect(iso).toBe(new Date(2026, 10, 29, 10, 30).toISOString())
    expect(isoToLocalInput(iso)).toBe('2026-11-29T10:30')
  })

  it('rejects what is not a date-time', () => {
    expect(localInputToIso('')).toBeUndefined()
    expect(localInputToIso('tomorrow')).toBeUndefined()
    expect(localInputToIso('2026-13-45T99:99')).toBeUndefined()
    expect(isoToLocalInput(undefined)).toBe('')
    expect(isoToLocalInput('garbage')).toBe('')
  })
})

describe('list parameters', () => {
  it('leaves out empty values and defaults', () => {
    expect(writeParams({ a: '', b: undefined, c: 'x', page: 1 }, { page: 1 }).toString()).toBe('c=x')
  })

  it('reads the user search, dropping unknown roles and statuses', () => {
    expect(parseUserParams(new URLSearchParams('q=ada&role=client&status=disabled&page=2'))).toEqual({
      q: 'ada',
      role: 'client',
      status: 'disabled',
      page: 2,
    })
    expect(parseUserParams(new URLSearchParams('role=root&status=gone&page=x'))).toEqual({
      q: undefined,
      role: undefined,
      status: undefined,
      page: 1,
    })
  })

  it('keeps the open event in the URL but not in the API query', () => {
    const state = parseEventParams(new URLSearchParams('type=user.*&status=failed&endpoint_id=3&event=12'))
    expect(state.event).toBe(12)
    expect(listApiQuery(state, ['event'])).toEqual({ type: 'user.*', status: 'failed', endpoint_id: 3, page: 1, per_page: 25 })
    expect(listParams(state).toString()).toBe('type=user.*&status=failed&endpoint_id=3&event=12')
  })

  it('reads the impersonation filters', () => {
    expect(parseImpersonationParams(new URLSearchParams('admin_id=crm-admin-7&user_id=42'))).toEqual({
      admin_id: 'crm-admin-7',
      user_id: 42,
      page: 1,
    })
    expect(parseImpersonationParams(new URLSearchParams('user_id=abc')).user_id).toBeUndefined()
  })

  it('counts pages, at least one', () => {
    expect(pageCount(0, 50)).toBe(1)
    expect(pageCount(undefined, 50)).toBe(1)
    expect(pageCount(50, 50)).toBe(1)
    expect(pageCount(51, 50)).toBe(2)
  })
})
