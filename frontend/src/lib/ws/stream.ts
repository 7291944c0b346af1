import { createStore } from 'zustand/vanilla'
import { useStore } from 'zustand'
import { useEffect } from 'react'
import { refreshSession } from '@/lib/api-client'
import { StreamConnection, type ConnectionState } from '@/lib/ws/connection'
import { pushQuote } from '@/lib/ws/quote-store'

// The app's single stream connection, and the state the feed indicator shows.

export interface FeedState {
  connection: ConnectionState
  /** what the server says about the upstream feed: ws, rest-fallback or down */
  feed: string | null
}

export const feedStore = createStore<FeedState>(() => ({ connection: 'idle', feed: null }))

export const stream = new StreamConnection({ beforeReconnect: () => refreshSession() })

stream.onQuote((q) => pushQuote(q.symbol, q.bid, q.ask, q.ts))
stream.onStatus((s) => feedStore.setState({ feed: s.feed }))
stream.onState((connection) => feedStore.setState({ connection }))

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => stream.nudge())
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) stream.nudge()
  })
}

export function useFeedState(): FeedState {
  const connection = useStore(feedStore, (s) => s.connection)
  const feed = useStore(feedStore, (s) => s.feed)
  return { connection, feed }
}

/** Keep quotes of these symbols flowing while the component is mounted. */
export function useQuoteSubscription(symbols: string[]): void {
  const key = [...new Set(symbols)].sort().join(',')
  useEffect(() => {
    if (!key) return
    return stream.subscribe(key.split(','))
  }, [key])
}
