import { describe, expect, it } from 'vitest'
import {
  activeFilterCount,
  auditApiQuery,
  auditCsvHref,
  auditParams,
  filtersFromForm,
  nextSort,
  parseAuditParams,
  sortDirection,
} from '@/features/admin/lib/audit-filters'

const params = (qs: string) => new URLSearchParams(qs)

describe('audit filters in the URL', () => {
  it('reads every filter, the page, the page size, the sort and the open row', () => {
    const state = parseAuditParams(
      params(
        'actor=user%3A42&actor_type=user&action=auth.login&target=session%3Aabc&outcome=failure&ip=10.0.0.7' +
          '&impersonator=crm-admin-7&from=2026-11-29T10%3A00%3A00.000Z&to=2026-11-30T00%3A00%3A00%2B01%3A00&q=EURUSD' +
          '&page=3&per_page=100&sort=-action&row=17',
      ),
    )
    expect(state).toEqual({
      filters: {
        actor: 'user:42',
        actor_type: 'user',
        action: 'auth.login',
        target: 'session:abc',
        outcome: 'failure',
        ip: '10.0.0.7',
        impersonator: 'crm-admin-7',
        from: '2026-11-29T10:00:00.000Z',
        to: '2026-11-30T00:00:00+01:00',
        q: 'EURUSD',
      },
      page: 3,
      perPage: 100,
      sort: '-action',
      row: 17,
    })
  })

  it('has the defaults for an empty URL', () => {
    expect(parseAuditParams(params(''))).toEqual({ filters: {}, page: 1, perPage: 50, sort: '-id', row: undefined })
  })

  it('drops values the API would refuse, so a hand-edited link never fails', () => {
    const state = parseAuditParams(
      params(
        'outcome=maybe&actor_type=robot&page=0&per_page=7&sort=password&from=yesterday&to=2026-11-29T10:00' +
          `&actor=${'x'.repeat(129)}&action=%20%20&row=-4&unknown=1`,
      ),
    )
    expect(state).toEqual({ filters: {}, page: 1, perPage: 50, sort: '-id', row: undefined })
  })

  it('trims text filters', () => {
    expect(parseAuditParams(params('action=%20auth.login%20')).filters).toEqual({ action: 'auth.login' })
  })

  it('writes only what differs from the defaults, and reads back the same state', () => {
    const state = parseAuditParams(params('actor=user%3A42&action=auth.login&page=2&sort=created_at'))
    const written = auditParams(state)
    expect(written.toString()).toBe('actor=user%3A42&action=auth.login&page=2&sort=created_at')
    expect(parseAuditParams(written)).toEqual(state)
    expect(auditParams(parseAuditParams(params(''))).toString()).toBe('')
  })

  it('sends the filters, page, page size and sort to the API, and never the open row', () => {
    const state = parseAuditParams(params('outcome=denied&row=9&per_page=25'))
    expect(auditApiQuery(state)).toEqual({ outcome: 'denied', page: 1, per_page: 25, sort: '-id' })
  })

  it('exports exactly the filtered set: the CSV link has the filters but no page, size, sort or row', () => {
    const state = parseAuditParams(params('actor=user%3A42&action=auth.login&page=4&per_page=25&sort=ip&row=3'))
    expect(auditCsvHref(state.filters)).toBe('/api/admin/audit.csv?actor=user%3A42&action=auth.login')
    expect(auditCsvHref({})).toBe('/api/admin/audit.csv')
  })
})

describe('sorting', () => {
  it('sorts a new column descending first, then toggles', () => {
    expect(nextSort('-id', 'action')).toBe('-action')
    expect(nextSort('-action', 'action')).toBe('action')
    expect(nextSort('action', 'action')).toBe('-action')
  })

  it('reports aria-sort per column', () => {
    expect(sortDirection('-ip', 'ip')).toBe('descending')
    expect(sortDirection('ip', 'ip')).toBe('ascending')
    expect(sortDirection('ip', 'id')).toBe('none')
  })
})

describe('the filter form', () => {
  it('keeps filled, valid fields and reports invalid ones', () => {
    const { filters, invalid } = filtersFromForm({ actor: ' 42 ', action: '', outcome: 'success', ip: 'x'.repeat(65) })
    expect(filters).toEqual({ actor: '42', outcome: 'success' })
    expect(invalid).toEqual(['ip'])
  })

  it('refuses a range whose end is not after its start', () => {
    const { invalid } = filtersFromForm({ from: '2026-11-29T10:00:00.000Z', to: '2026-11-29T09:00:00.000Z' })
    expect(invalid).toEqual(['to'])
  })

  it('counts the active filters', () => {
    expect(activeFilterCount({ actor: '1', q: 'x' })).toBe(2)
    expect(activeFilterCount({})).toBe(0)
  })
})
