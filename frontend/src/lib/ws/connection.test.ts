import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay, StreamConnection, type SocketLike } from '@/lib/ws/connection'

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: unknown[] = []
  closed = false
  onopen: ((ev: Event) => void) | null = null
  onclose: ((ev: CloseEvent) => void) | null = null
  onerror: ((ev: Event) => void) | null = null
  onmessage: ((ev: MessageEvent) => void) | null = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  close() {
    this.closed = true
    this.readyState = 3
  }
  open() {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  receive(frame: unknown) {
    this.onmessage?.(new MessageEvent('message', { data: typeof frame === 'string' ? frame : JSON.stringify(frame) }))
  }
  drop() {
    this.readyState = 3
    this.onclose?.(new CloseEvent('close'))
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1]!

function make(extra: Partial<ConstructorParameters<typeof StreamConnection>[0]> = {}) {
  return new StreamConnection({
    url: (symbols) => `ws://test/api/stream?symbols=${symbols.join(',')}`,
    createSocket: (url) => new FakeSocket(url),
    baseDelayMs: 100,
    maxDelayMs: 1000,
    idleTimeoutMs: 5000,
    pingIntervalMs: 2000,
    random: () => 1, // the top of the jitter range: deterministic delays
    ...extra,
  })
}

beforeEach(() => {
  FakeSocket.all = []
  vi.useFakeTimers()
})
afterEach(() => vi.useRealTimers())

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, jittered between base and ceiling', () => {
    expect(backoffDelay(0, 100, 1000, () => 1)).toBe(100)
    expect(backoffDelay(1, 100, 1000, () => 1)).toBe(200)
    expect(backoffDelay(3, 100, 1000, () => 1)).toBe(800)
    expect(backoffDelay(10, 100, 1000, () => 1)).toBe(1000)
    expect(backoffDelay(10, 100, 1000, () => 0)).toBe(100)
    expect(backoffDelay(10, 100, 1000, () => 0.5)).toBe(550)
  })
})

describe('StreamConnection', () => {
  it('connects with the subscribed symbols and sends later changes as actions', () => {
    const conn = make()
    const off = conn.subscribe(['EURUSD'])
    conn.start()
    expect(last().url).toBe('ws://test/api/stream?symbols=EURUSD')
    last().open()
    expect(conn.getState()).toBe('open')
    const offGold = conn.subscribe(['XAUUSD', 'EURUSD'])
    expect(last().sent).toEqual([{ action: 'subscribe', symbols: ['XAUUSD'] }])
    off() // EURUSD still wanted by the second subscriber
    expect(last().sent).toHaveLength(1)
    offGold()
    expect(last().sent[1]).toEqual({ action: 'unsubscribe', symbols: ['EURUSD', 'XAUUSD'] })
  })

  it('routes frames by type and ignores malformed ones', () => {
    const conn = make()
    const quotes: unknown[] = []
    const events: unknown[] = []
    const statuses: unknown[] = []
    conn.onQuote((q) => quotes.push(q))
    conn.onPrivate((e) => events.push(e))
    conn.onStatus((s) => statuses.push(s))
    conn.start()
    last().open()
    last().receive({ type: 'quote', symbol: 'EURUSD', bid: '1.1', ask: '1.2', ts: 5 })
    last().receive({ type: 'order', account_id: 3, event: 'filled', order: { id: 1 } })
    last().receive({ type: 'status', feed: 'rest-fallback' })
    last().receive('not json')
    last().receive({ type: 'quote', symbol: 'EURUSD' }) // missing prices
    last().receive({ type: 'mystery' })
    expect(quotes).toEqual([{ type: 'quote', symbol: 'EURUSD', bid: '1.1', ask: '1.2', ts: 5 }])
    expect(events).toEqual([{ type: 'order', account_id: 3, event: 'filled', order: { id: 1 } }])
    expect(statuses).toEqual([{ type: 'status', feed: 'rest-fallback' }])
  })

  it('reconnects with growing backoff, resubscribes and asks for a resync', () => {
    const conn = make()
    const resyncs = vi.fn()
    conn.onResync(resyncs)
    conn.subscribe(['EURUSD'])
    conn.start()
    last().open()
    conn.subscribe(['BTCUSD'])
    last().drop()
    expect(conn.getState()).toBe('reconnecting')
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(99)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(2)
    // The new socket carries every current subscription.
    expect(last().url).toBe('ws://test/api/stream?symbols=BTCUSD,EURUSD')
    last().drop() // failed again before opening: the next wait is longer
    vi.advanceTimersByTime(199)
    expect(FakeSocket.all).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(3)
    last().open()
    expect(resyncs).toHaveBeenCalledTimes(1)
    expect(last().sent).toEqual([]) // nothing to send: the URL had the symbols
  })

  it('forgets earlier failures once a connection delivers data', () => {
    const conn = make()
    conn.start()
    last().drop()
    vi.advanceTimersByTime(100)
    last().drop()
    vi.advanceTimersByTime(200)
    last().open()
    last().receive({ type: 'status', feed: 'ws' })
    last().drop()
    vi.advanceTimersByTime(100)
    expect(FakeSocket.all).toHaveLength(4)
  })

  it('refreshes the session before retrying a handshake that failed', async () => {
    const refresh = vi.fn(() => Promise.resolve(true))
    const conn = make({ beforeReconnect: refresh })
    conn.start()
    last().drop() // closed without ever opening: e.g. the access cookie expired
    await vi.advanceTimersByTimeAsync(100)
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(FakeSocket.all).toHaveLength(2)
    last().open()
    last().drop() // an established connection dropping is not an auth problem
    await vi.advanceTimersByTimeAsync(1000)
    expect(refresh).toHaveBeenCalledTimes(1)
  })

  it('pings while open so a quiet but healthy socket answers', () => {
    const conn = make()
    conn.start()
    last().open()
    vi.advanceTimersByTime(4000)
    expect(last().sent).toEqual([{ action: 'ping' }, { action: 'ping' }])
    last().receive({ type: 'pong', ts: 1 })
    vi.advanceTimersByTime(4000)
    expect(FakeSocket.all).toHaveLength(1) // the pong kept it alive past the idle timeout
  })

  it('drops a silent socket after the idle timeout and reconnects', () => {
    const conn = make()
    conn.start()
    last().open()
    vi.advanceTimersByTime(4999)
    last().receive({ type: 'status', feed: 'ws' })
    vi.advanceTimersByTime(4999)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all[0]!.closed).toBe(true)
    vi.advanceTimersByTime(100)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('stops for good on stop() and reconnects at once on nudge()', () => {
    const conn = make()
    conn.start()
    last().open()
    last().drop()
    conn.nudge()
    expect(FakeSocket.all).toHaveLength(2)
    conn.stop()
    expect(conn.getState()).toBe('closed')
    expect(last().closed).toBe(true)
    vi.advanceTimersByTime(10_000)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('asks the server to re-read accounts', () => {
    const conn = make()
    conn.start()
    last().open()
    conn.refreshAccounts()
    expect(last().sent).toEqual([{ action: 'refresh_accounts' }])
  })
})
