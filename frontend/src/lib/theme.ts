import { createStore } from 'zustand/vanilla'
import { useStore } from 'zustand'
import type { Theme } from '@/lib/types'

// Light/dark: follows the system until the user picks one; the pick is remembered.
// public/theme-init.js applies the same rule before the bundle loads (no flash).

interface ThemeState {
  theme: Theme
  resolved: 'light' | 'dark'
}

function stored(): Theme {
  try {
    const v = localStorage.getItem('theme')
    return v === 'light' || v === 'dark' || v === 'system' ? v : 'system'
  } catch {
    return 'system'
  }
}

function systemDark(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function'
    ? window.matchMedia('(prefers-color-scheme: dark)').matches
    : false
}

function resolve(theme: Theme): 'light' | 'dark' {
  return theme === 'system' ? (systemDark() ? 'dark' : 'light') : theme
}

export const themeStore = createStore<ThemeState>(() => {
  const theme = stored()
  return { theme, resolved: resolve(theme) }
})

function apply(resolved: 'light' | 'dark'): void {
  if (typeof document === 'undefined') return
  document.documentElement.classList.toggle('dark', resolved === 'dark')
  document.documentElement.style.colorScheme = resolved
}

apply(themeStore.getState().resolved)

if (typeof window !== 'undefined' && typeof window.matchMedia === 'function') {
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    const { theme } = themeStore.getState()
    if (theme === 'system') setTheme('system', false)
  })
}

export function setTheme(theme: Theme, remember = true): void {
  if (remember) {
    try {
      localStorage.setItem('theme', theme)
    } catch {
      /* not remembered */
    }
  }
  const resolved = resolve(theme)
  themeStore.setState({ theme, resolved })
  apply(resolved)
}

export function useTheme(): ThemeState {
  const theme = useStore(themeStore, (s) => s.theme)
  const resolved = useStore(themeStore, (s) => s.resolved)
  return { theme, resolved }
}
