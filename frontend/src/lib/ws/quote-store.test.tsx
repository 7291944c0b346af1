import { act, render } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { clearQuotes, flushQuotes, getQuote, pushQuote, seedQuotes, setQuoteScheduler, useQuote, quotesStore } from '@/lib/ws/quote-store'

let frames: (() => void)[] = []

beforeEach(() => {
  frames = []
  clearQuotes()
  setQuoteScheduler((flush) => frames.push(flush))
})
afterEach(() => setQuoteScheduler(null))

function runFrame() {
  const pending = frames
  frames = []
  pending.forEach((f) => f())
}

describe('quote store', () => {
  it('coalesces ticks into one store update per frame, last tick wins', () => {
    let updates = 0
    const off = quotesStore.subscribe(() => updates++)
    pushQuote('EURUSD', '1.1', '1.2', 1)
    pushQuote('EURUSD', '1.3', '1.4', 2)
    pushQuote('GBPUSD', '1.25', '1.26', 2)
    expect(frames).toHaveLength(1) // one flush scheduled for the whole burst
    expect(getQuote('EURUSD')).toBeUndefined()
    runFrame()
    off()
    expect(updates).toBe(1)
    expect(getQuote('EURUSD')).toMatchObject({ bid: '1.3', ask: '1.4', ts: 2 })
    expect(getQuote('GBPUSD')).toMatchObject({ bid: '1.25' })
  })

  it('records the direction of the bid and drops late ticks', () => {
    pushQuote('EURUSD', '1.10', '1.11', 10)
    runFrame()
    pushQuote('EURUSD', '1.12', '1.13', 11)
    runFrame()
    expect(getQuote('EURUSD')?.dir).toBe('up')
    pushQuote('EURUSD', '1.00', '1.01', 5)
    runFrame()
    expect(getQuote('EURUSD')?.bid).toBe('1.12')
  })

  it('does not let a REST snapshot overwrite a newer tick', () => {
    pushQuote('EURUSD', '1.2', '1.3', 100)
    runFrame()
    seedQuotes([
      { symbol: 'EURUSD', bid: '1.0', ask: '1.1', ts: 50 },
      { symbol: 'XAUUSD', bid: '2600', ask: '2601', ts: 50 },
    ])
    expect(getQuote('EURUSD')?.bid).toBe('1.2')
    expect(getQuote('XAUUSD')?.bid).toBe('2600')
  })

  it('re-renders a component only when its own symbol ticks', () => {
    let renders = 0
    function Cell({ symbol }: { symbol: string }) {
      const q = useQuote(symbol)
      renders++
      return <span data-testid="bid">{q?.bid ?? '-'}</span>
    }
    const { getByTestId } = render(<Cell symbol="EURUSD" />)
    expect(renders).toBe(1)
    act(() => {
      pushQuote('GBPUSD', '1', '2', 1)
      runFrame()
    })
    expect(renders).toBe(1)
    act(() => {
      pushQuote('EURUSD', '1.1', '1.2', 1)
      pushQuote('EURUSD', '1.15', '1.25', 2)
      runFrame()
    })
    expect(renders).toBe(2)
    expect(getByTestId('bid').textContent).toBe('1.15')
  })

  it('flushes nothing when nothing is pending', () => {
    let updates = 0
    const off = quotesStore.subscribe(() => updates++)
    flushQuotes()
    off()
    expect(updates).toBe(0)
  })
})
