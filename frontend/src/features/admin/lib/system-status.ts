import type { EngineShard, WebhookDelivery } from '@/features/admin/api/types'

// Reading the raw Redis hashes the system endpoint passes through (md:status, engine:status:{shard}).

/** md:status or an engine status hash is refreshed every second or two: older than this, its writer is gone. */
export const SILENT_AFTER_MS = 10_000

export type FeedMode = 'ws' | 'rest-fallback' | 'down'
export type EngineState = 'running' | 'silent' | 'unknown'

function ms(value: string | undefined): number | null {
  if (!value) return null
  const n = Number(value)
  return Number.isFinite(n) && n > 0 ? n : null
}

/** ws | rest-fallback | down, as the feed's readers see it: a feed that stopped refreshing md:status is down. */
export function feedMode(status: Record<string, string>, nowMs: number): FeedMode {
  const mode = status.mode
  const updated = ms(status.updated_at)
  if ((mode !== 'ws' && mode !== 'rest-fallback') || updated === null || nowMs - updated > SILENT_AFTER_MS) return 'down'
  return mode
}

/** A list the feed stored as JSON text in its hash (failed_symbols, stale_symbols). */
export function listField(value: string | undefined): string[] {
  if (!value) return []
  try {
    const parsed: unknown = JSON.parse(value)
    return Array.isArray(parsed) ? parsed.map(String) : []
  } catch {
    return []
  }
}

/** A millisecond timestamp field of a status hash, or null. */
export function msField(status: Record<string, string>, key: string): number | null {
  return ms(status[key])
}

/** running while the shard refreshes its status, silent when it stopped, unknown when it never wrote one. */
export function engineState(shard: EngineShard, nowMs: number): EngineState {
  const updated = ms(shard.status.updated_at)
  if (updated === null) return 'unknown'
  return nowMs - updated > SILENT_AFTER_MS ? 'silent' : 'running'
}

/** Seconds between a millisecond timestamp and now (never negative: clocks of two hosts differ a little). */
export function ageSeconds(tsMs: number | null, nowMs: number): number | null {
  if (tsMs === null) return null
  return Math.max(0, (nowMs - tsMs) / 1000)
}

/** Delivery counts by status, in a fixed order, for a compact summary. */
export function deliveryCounts(deliveries: Pick<WebhookDelivery, 'status'>[]): [string, number][] {
  const order = ['succeeded', 'pending', 'retrying', 'failed', 'cancelled']
  const counts = new Map<string, number>()
  for (const d of deliveries) counts.set(d.status, (counts.get(d.status) ?? 0) + 1)
  const known = order.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!] as [string, number])
  const other = [...counts.entries()].filter(([s]) => !order.includes(s))
  return [...known, ...other]
}
