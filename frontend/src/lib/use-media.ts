import { useSyncExternalStore } from 'react'

function subscribe(query: string) {
  return (onChange: () => void) => {
    const mql = window.matchMedia(query)
    mql.addEventListener('change', onChange)
    return () => mql.removeEventListener('change', onChange)
  }
}

/** True while the media query matches (re-renders when it flips). */
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    subscribe(query),
    () => window.matchMedia(query).matches,
    () => false,
  )
}

/** Phones: tables become cards, the ticket becomes a bottom drawer. */
export function useIsPhone(): boolean {
  return useMediaQuery('(max-width: 767px)')
}
