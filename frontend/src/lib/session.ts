import { useMutation, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query'
import { useEffect } from 'react'
import { createStore } from 'zustand/vanilla'
import { useStore } from 'zustand'
import { api, ApiError, resetCsrf } from '@/lib/api-client'
import { qk } from '@/lib/query-keys'
import { seedQuotes } from '@/lib/ws/quote-store'
import type { Account, Instrument, Me, Preferences } from '@/lib/types'

// Server data that every area of the app shares: who is logged in, their accounts, the symbols.

/** The current user; null when not logged in. */
export function useMe(): UseQueryResult<Me | null> {
  return useQuery({
    queryKey: qk.me,
    queryFn: async () => {
      try {
        return await api<Me>('/api/auth/me')
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null
        throw err
      }
    },
    staleTime: 60_000,
  })
}

export function useAccounts(enabled = true): UseQueryResult<Account[]> {
  return useQuery({
    queryKey: qk.accounts,
    queryFn: async () => {
      const data = await api<Account[] | { items: Account[] }>('/api/accounts')
      return Array.isArray(data) ? data : data.items
    },
    enabled,
    staleTime: 10_000,
    // A new user's live account is opened by the engine moments after registration: look often until it exists.
    refetchInterval: (query) => (query.state.data?.length ? 15_000 : 2_000),
  })
}

function quoteTs(ts: number | string): number {
  const n = typeof ts === 'number' ? ts : Date.parse(ts) || Number(ts)
  // seconds or milliseconds: the live stream uses ms
  return n < 1e12 ? n * 1000 : n
}

export function useSymbols(): UseQueryResult<Instrument[]> {
  const result = useQuery({
    queryKey: qk.symbols,
    queryFn: async () => {
      const data = await api<Instrument[] | { items: Instrument[] }>('/api/market/symbols')
      return Array.isArray(data) ? data : data.items
    },
    staleTime: 60_000,
  })
  useEffect(() => {
    if (!result.data) return
    seedQuotes(
      result.data
        .filter((i) => i.quote?.bid && i.quote?.ask)
        .map((i) => ({ symbol: i.symbol, bid: i.quote!.bid, ask: i.quote!.ask, ts: quoteTs(i.quote!.ts) })),
    )
  }, [result.data])
  return result
}

export function useInstrument(symbol: string | null): Instrument | undefined {
  const { data } = useSymbols()
  return data?.find((i) => i.symbol === symbol)
}

// The selected account and symbol, remembered per browser.
interface SelectionState {
  accountId: number | null
  /** null until the user picks one: then the first tradable symbol of the watchlist is shown */
  symbol: string | null
}

function readStored<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key)
    return raw === null ? fallback : (JSON.parse(raw) as T)
  } catch {
    return fallback
  }
}

export const selectionStore = createStore<SelectionState>(() => ({
  accountId: readStored<number | null>('selectedAccount', null),
  symbol: readStored<string | null>('selectedSymbol', null),
}))

selectionStore.subscribe((s) => {
  try {
    localStorage.setItem('selectedAccount', JSON.stringify(s.accountId))
    localStorage.setItem('selectedSymbol', JSON.stringify(s.symbol))
  } catch {
    /* private mode: selection is just not remembered */
  }
})

export function selectAccount(accountId: number): void {
  selectionStore.setState({ accountId })
}

export function selectSymbol(symbol: string): void {
  selectionStore.setState({ symbol })
}

export function useSelectedSymbol(): string | null {
  return useStore(selectionStore, (s) => s.symbol)
}

/** The account to show when none is remembered: a funded live one, else a funded demo, else live. */
export function defaultAccount(accounts: Account[]): Account | undefined {
  const funded = (a: Account) => Number(a.balance) > 0
  return (
    accounts.find((a) => a.type === 'live' && funded(a)) ??
    accounts.find((a) => a.type === 'demo' && funded(a)) ??
    accounts.find((a) => a.type === 'live') ??
    accounts[0]
  )
}

/** The account the dashboard works on: the remembered one if it is still the user's, else the default. */
export function useActiveAccount(): { account: Account | undefined; accounts: Account[]; isLoading: boolean } {
  const { data: accounts = [], isLoading } = useAccounts()
  const selected = useStore(selectionStore, (s) => s.accountId)
  const account = accounts.find((a) => a.id === selected) ?? defaultAccount(accounts)
  return { account, accounts, isLoading }
}

/** Save preferences on the server (merged with the current ones), optimistic in the cache. */
export function useUpdatePreferences() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: async (patch: Partial<Preferences>) => {
      const me = qc.getQueryData<Me | null>(qk.me)
      const preferences = { ...(me?.preferences ?? {}), ...patch }
      return api<Me>('/api/auth/me', { method: 'PATCH', body: { preferences } })
    },
    onMutate: async (patch) => {
      await qc.cancelQueries({ queryKey: qk.me })
      const previous = qc.getQueryData<Me | null>(qk.me)
      if (previous) qc.setQueryData<Me>(qk.me, { ...previous, preferences: { ...previous.preferences, ...patch } })
      return { previous }
    },
    onError: (_err, _patch, ctx) => {
      if (ctx?.previous) qc.setQueryData(qk.me, ctx.previous)
    },
    onSuccess: (me) => {
      if (me && typeof me === 'object' && 'id' in me) qc.setQueryData(qk.me, me)
    },
  })
}

/** Log out here (or everywhere): the server ends the session, the cache forgets the user. */
export function useLogout() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (all: boolean = false) => api<unknown>(all ? '/api/auth/logout-all' : '/api/auth/logout', { method: 'POST' }),
    onSettled: () => {
      resetCsrf()
      qc.setQueryData(qk.me, null)
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' && q.queryKey[0] !== 'symbols' })
    },
  })
}
