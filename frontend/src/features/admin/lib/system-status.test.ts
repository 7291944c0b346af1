import { describe, expect, it } from 'vitest'
import { ageSeconds, deliveryCounts, engineState, feedMode, listField, msField } from '@/features/admin/lib/system-status'

const NOW = 1_800_000_000_000

describe('feed mode', () => {
  it('is the mode the feed reports while it keeps reporting', () => {
    expect(feedMode({ mode: 'ws', updated_at: String(NOW - 2_000) }, NOW)).toBe('ws')
    expect(feedMode({ mode: 'rest-fallback', updated_at: String(NOW - 9_000) }, NOW)).toBe('rest-fallback')
  })

  it('is down when the feed says so, says nothing, or stopped refreshing its status', () => {
    expect(feedMode({ mode: 'down', updated_at: String(NOW) }, NOW)).toBe('down')
    expect(feedMode({}, NOW)).toBe('down')
    expect(feedMode({ mode: 'ws', updated_at: String(NOW - 10_001) }, NOW)).toBe('down')
    expect(feedMode({ mode: 'ws', updated_at: 'soon' }, NOW)).toBe('down')
  })

  it('reads the JSON lists and timestamps the feed stores in its hash', () => {
    expect(listField('["XAUUSD","WTI"]')).toEqual(['XAUUSD', 'WTI'])
    expect(listField('not json')).toEqual([])
    expect(listField('{"a":1}')).toEqual([])
    expect(listField(undefined)).toEqual([])
    expect(msField({ since: '1700000000000' }, 'since')).toBe(1_700_000_000_000)
    expect(msField({ since: '0' }, 'since')).toBeNull()
  })
})

describe('engine shards', () => {
  const shard = (status: Record<string, string>) => ({ shard: 0, stream_length: 0, pending_commands: 0, status })

  it('are running while they refresh their status, silent after, unknown before they ever wrote it', () => {
    expect(engineState(shard({ updated_at: String(NOW - 1_000) }), NOW)).toBe('running')
    expect(engineState(shard({ updated_at: String(NOW - 60_000) }), NOW)).toBe('silent')
    expect(engineState(shard({}), NOW)).toBe('unknown')
  })

  it('measures ages in seconds, never negative', () => {
    expect(ageSeconds(NOW - 2_500, NOW)).toBe(2.5)
    expect(ageSeconds(NOW + 300, NOW)).toBe(0)
    expect(ageSeconds(null, NOW)).toBeNull()
  })
})

describe('delivery summaries', () => {
  it('count deliveries by status in a fixed order', () => {
    const rows = ['failed', 'succeeded', 'retrying', 'succeeded', 'weird'].map((status) => ({ status }))
    expect(deliveryCounts(rows)).toEqual([
      ['succeeded', 2],
      ['retrying', 1],
      ['failed', 1],
      ['weird', 1],
    ])
  })
})
