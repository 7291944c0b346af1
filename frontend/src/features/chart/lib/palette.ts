// Chart colours in hex: Lightweight Charts cannot parse oklch, and these match the CSS tokens.
export interface ChartPalette {
  background: string
  text: string
  grid: string
  border: string
  up: string
  down: string
  bid: string
  ask: string
  entry: string
  tp: string
  sl: string
}

export const PALETTES: Record<'light' | 'dark', ChartPalette> = {
  light: {
    background: '#ffffff',
    text: '#334155',
    grid: '#eef2f7',
    border: '#e2e8f0',
    up: '#047857',
    down: '#b91c1c',
    bid: '#b91c1c',
    ask: '#1d4ed8',
    entry: '#7c3aed',
    tp: '#047857',
    sl: '#b91c1c',
  },
  dark: {
    background: '#111a2e',
    text: '#cbd5e1',
    grid: '#1b2740',
    border: '#26334d',
    up: '#34d399',
    down: '#f87171',
    bid: '#f87171',
    ask: '#60a5fa',
    entry: '#c4b5fd',
    tp: '#34d399',
    sl: '#f87171',
  },
}
