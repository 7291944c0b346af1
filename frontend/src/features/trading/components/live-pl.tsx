import { ArrowDownIcon, ArrowUpIcon } from 'lucide-react'
import { useTranslation } from 'react-i18next'
import { direction, formatPrice, formatSigned } from '@/lib/format'
import { getQuote, useQuote } from '@/lib/ws/quote-store'
import { cn } from '@/lib/utils'
import type { Instrument, Position } from '@/lib/types'
import { positionProfit } from '@/features/trading/lib/calc'

/** Floating P/L of one position, re-rendered only when its symbol ticks. Sign and arrow, not just colour. */
export function LivePl({ position, instrument, currency }: { position: Position; instrument: Instrument | undefined; currency: string }) {
  const { t } = useTranslation()
  const quote = useQuote(position.symbol)
  const profit =
    instrument && quote
      ? positionProfit({
          side: position.side,
          volume: position.volume,
          openPrice: position.open_price,
          instrument,
          quote,
          accountCurrency: currency,
          lookup: getQuote,
        })
      : null
  const value = profit ? profit.toString() : (position.floating_pl ?? null)
  const dir = direction(value)
  return (
    <span
      data-testid={`pl-${position.id}`}
      className={cn('inline-flex items-center justify-end gap-0.5 num font-medium', dir === 'up' && 'text-up', dir === 'down' && 'text-down')}
    >
      {dir === 'up' ? <ArrowUpIcon aria-hidden className="size-3" /> : dir === 'down' ? <ArrowDownIcon aria-hidden className="size-3" /> : null}
      {formatSigned(value)}
      <span className="sr-only">{t(`common.direction.${dir}`)}</span>
    </span>
  )
}

/** The live closing price of a position (bid for longs, ask for shorts). */
export function CurrentPrice({ position, digits }: { position: Position; digits: number }) {
  const quote = useQuote(position.symbol)
  const value = quote ? (position.side === 'buy' ? quote.bid : quote.ask) : undefined
  return <span className="num">{formatPrice(value, digits)}</span>
}
