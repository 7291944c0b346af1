import { useTranslation } from 'react-i18next'
import { CircleAlertIcon, CircleCheckIcon, CircleDashedIcon, CircleDotIcon } from 'lucide-react'
import { useFeedState } from '@/lib/ws/stream'
import { cn } from '@/lib/utils'

/** Connection and upstream feed state: an icon and a word, never colour alone. */
export function FeedIndicator() {
  const { t } = useTranslation()
  const { connection, feed } = useFeedState()
  let state: 'live' | 'fallback' | 'down' | 'connecting'
  if (connection !== 'open') state = connection === 'reconnecting' ? 'down' : 'connecting'
  else if (feed === 'down') state = 'down'
  else if (feed === 'rest-fallback') state = 'fallback'
  else state = 'live'
  const Icon = state === 'live' ? CircleCheckIcon : state === 'fallback' ? CircleDotIcon : state === 'down' ? CircleAlertIcon : CircleDashedIcon
  const label = t(`feed.${state}`)
  const detail = connection === 'reconnecting' ? t('feed.reconnecting') : label
  return (
    <span
      role="status"
      data-testid="feed-status"
      data-state={state}
      title={detail}
      className={cn(
        'inline-flex items-center gap-1 rounded-md px-2 py-1 text-xs font-medium',
        state === 'live' && 'text-up',
        state === 'fallback' && 'text-warning',
        state === 'down' && 'text-down',
        state === 'connecting' && 'text-muted-foreground',
      )}
    >
      <Icon aria-hidden className="size-3.5" />
      <span className="hidden sm:inline">{detail}</span>
      <span className="sr-only sm:hidden">{detail}</span>
    </span>
  )
}
