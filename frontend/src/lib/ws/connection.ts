import { parseFrame, type PrivateFrame, type QuoteFrame, type StatusFrame, type StreamFrame } from '@/lib/ws/messages'

// One WebSocket per tab for quotes and private events. Reconnects forever with exponential
// backoff and jitter, re-subscribes, and tells listeners after a reconnect so they re-fetch what
// they may have missed (the stream has no replay).

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface SocketLike {
  readyState: number
  onopen: ((ev: Event) => void) | null
  onclose: ((ev: CloseEvent) => void) | null
  onerror: ((ev: Event) => void) | null
  onmessage: ((ev: MessageEvent) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface StreamOptions {
  url?: (symbols: string[]) => string
  createSocket?: (url: string) => SocketLike
  /** Before a reconnect that follows a handshake failure (e.g. an expired access cookie). */
  beforeReconnect?: () => Promise<unknown>
  baseDelayMs?: number
  maxDelayMs?: number
  /** Reconnect when nothing arrives for this long (we ping, the server answers pong). */
  idleTimeoutMs?: number
  /** Application-level ping ({"action":"ping"}): browsers hide protocol pings from scripts. */
  pingIntervalMs?: number
  random?: () => number
}

type Handler<T> = (value: T) => void

const OPEN = 1

export function defaultStreamUrl(symbols: string[]): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const qs = symbols.length ? `?symbols=${encodeURIComponent(symbols.join(','))}` : ''
  return `${proto}//${location.host}/api/stream${qs}`
}

/** Exponential backoff with full jitter: a random delay in [base, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt)
  return Math.round(baseMs + random() * Math.max(0, ceiling - baseMs))
}

export class StreamConnection {
  private socket: SocketLike | null = null
  private state: ConnectionState = 'idle'
  private readonly refs = new Map<string, number>()
  private sentSymbols = new Set<string>()
  private attempt = 0
  private everOpened = false
  private openedThisSocket = false
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private idleTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private readonly quoteHandlers = new Set<Handler<QuoteFrame>>()
  private readonly statusHandlers = new Set<Handler<StatusFrame>>()
  private readonly privateHandlers = new Set<Handler<PrivateFrame>>()
  private readonly stateHandlers = new Set<Handler<ConnectionState>>()
  private readonly resyncHandlers = new Set<() => void>()
  private readonly options: Required<Omit<StreamOptions, 'beforeReconnect'>> & Pick<StreamOptions, 'beforeReconnect'>

  constructor(options: StreamOptions = {}) {
    this.options = {
      url: options.url ?? defaultStreamUrl,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      beforeReconnect: options.beforeReconnect,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      random: options.random ?? Math.random,
    }
  }

  getState(): ConnectionState {
    return this.state
  }

  /** Open the socket (idempotent). */
  start(): void {
    if (this.state !== 'idle' && this.state !== 'closed') return
    this.connect()
  }

  /** Close for good (logout): no reconnect until start() again. */
  stop(): void {
    this.clearTimers()
    const socket = this.socket
    this.socket = null
    if (socket) {
      socket.onclose = null
      socket.close(1000, 'bye')
    }
    this.everOpened = false
    this.attempt = 0
    this.setState('closed')
  }

  /** Subscribe to quotes of these symbols; returns the matching unsubscribe (ref-counted). */
  subscribe(symbols: string[]): () => void {
    const added: string[] = []
    for (const s of symbols) {
      const n = this.refs.get(s) ?? 0
      this.refs.set(s, n + 1)
      if (n === 0) added.push(s)
    }
    if (added.length) this.sync()
    let done = false
    return () => {
      if (done) return
      done = true
      for (const s of symbols) {
        const n = (this.refs.get(s) ?? 1) - 1
        if (n <= 0) this.refs.delete(s)
        else this.refs.set(s, n)
      }
      this.sync()
    }
  }

  /** Ask the server to re-read the user's accounts (after opening a demo account). */
  refreshAccounts(): void {
    this.sendJson({ action: 'refresh_accounts' })
  }

  subscribedSymbols(): string[] {
    return [...this.refs.keys()].sort()
  }

  onQuote(h: Handler<QuoteFrame>): () => void {
    return this.add(this.quoteHandlers, h)
  }
  onStatus(h: Handler<StatusFrame>): () => void {
    return this.add(this.statusHandlers, h)
  }
  onPrivate(h: Handler<PrivateFrame>): () => void {
    return this.add(this.privateHandlers, h)
  }
  onState(h: Handler<ConnectionState>): () => void {
    return this.add(this.stateHandlers, h)
  }
  /** Called after every reconnect: data may have been missed while the socket was down. */
  onResync(h: () => void): () => void {
    return this.add(this.resyncHandlers, h)
  }

  private add<T>(set: Set<T>, h: T): () => void {
    set.add(h)
    return () => set.delete(h)
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return
    this.state = state
    this.stateHandlers.forEach((h) => h(state))
  }

  private connect(): void {
    this.setState(this.everOpened ? 'reconnecting' : 'connecting')
    const symbols = this.subscribedSymbols()
    const socket = this.options.createSocket(this.options.url(symbols))
    this.socket = socket
    this.openedThisSocket = false
    this.sentSymbols = new Set(symbols)
    socket.onopen = () => {
      if (socket !== this.socket) return
      const reconnected = this.everOpened
      this.everOpened = true
      this.openedThisSocket = true
      this.setState('open')
      this.bumpIdle()
      this.pingTimer = setInterval(() => this.sendJson({ action: 'ping' }), this.options.pingIntervalMs)
      this.sync()
      if (reconnected) this.resyncHandlers.forEach((h) => h())
    }
    socket.onmessage = (ev) => {
      if (socket !== this.socket) return
      // A connection that delivers data is healthy: only now forget earlier failures.
      this.attempt = 0
      this.bumpIdle()
      if (typeof ev.data === 'string') this.dispatch(parseFrame(ev.data))
    }
    socket.onerror = () => {
      /* onclose follows and schedules the reconnect */
    }
    socket.onclose = () => {
      if (socket !== this.socket) return
      this.socket = null
      this.scheduleReconnect(!this.openedThisSocket)
    }
  }

  private dispatch(frame: StreamFrame | null): void {
    if (!frame) return
    switch (frame.type) {
      case 'quote':
        this.quoteHandlers.forEach((h) => h(frame as QuoteFrame))
        return
      case 'status':
        this.statusHandlers.forEach((h) => h(frame as StatusFrame))
        return
      case 'error':
        return
      default:
        this.privateHandlers.forEach((h) => h(frame as PrivateFrame))
    }
  }

  private scheduleReconnect(handshakeFailed: boolean): void {
    this.clearTimers()
    this.setState('reconnecting')
    const delay = backoffDelay(this.attempt, this.options.baseDelayMs, this.options.maxDelayMs, this.options.random)
    this.attempt += 1
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      const before = handshakeFailed && this.options.beforeReconnect ? this.options.beforeReconnect() : null
      if (before) void before.catch(() => undefined).finally(() => this.reconnectIfWanted())
      else this.reconnectIfWanted()
    }, delay)
  }

  private reconnectIfWanted(): void {
    if (this.state === 'closed' || this.socket) return
    this.connect()
  }

  /** Reconnect now (tab visible again, network back) instead of waiting out the backoff. */
  nudge(): void {
    if (this.state !== 'reconnecting' || this.socket) return
    this.clearTimers()
    this.connect()
  }

  private bumpIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      // Silent socket: drop it and reconnect (onclose is not reliable for half-open TCP).
      const socket = this.socket
      this.socket = null
      if (socket) {
        socket.onclose = null
        socket.close(4000, 'idle')
      }
      this.scheduleReconnect(false)
    }, this.options.idleTimeoutMs)
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.idleTimer) clearTimeout(this.idleTimer)
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.reconnectTimer = null
    this.idleTimer = null
    this.pingTimer = null
  }

  private sync(): void {
    if (!this.socket || this.socket.readyState !== OPEN) return
    const wanted = new Set(this.refs.keys())
    const add = [...wanted].filter((s) => !this.sentSymbols.has(s))
    const remove = [...this.sentSymbols].filter((s) => !wanted.has(s))
    if (add.length) this.sendJson({ action: 'subscribe', symbols: add })
    if (remove.length) this.sendJson({ action: 'unsubscribe', symbols: remove })
    this.sentSymbols = wanted
  }

  private sendJson(payload: unknown): void {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(payload))
  }
}
