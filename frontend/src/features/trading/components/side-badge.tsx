import { ArrowDownIcon, ArrowUpIcon } from 'lucide-react'
import { useTranslation } from 'react-i18next'
import { Badge } from '@/components/ui/badge'
import type { Side } from '@/lib/types'

/** Buy/sell as a word plus an arrow, never colour alone. */
export function SideBadge({ side }: { side: Side }) {
  const { t } = useTranslation()
  return (
    <Badge variant={side === 'buy' ? 'up' : 'down'} className="uppercase">
      {side === 'buy' ? <ArrowUpIcon aria-hidden /> : <ArrowDownIcon aria-hidden />}
      {t(`ticket.side.${side}`)}
    </Badge>
  )
}
