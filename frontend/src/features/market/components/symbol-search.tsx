import { useTranslation } from 'react-i18next'
import { CheckIcon, PlusIcon } from 'lucide-react'
import type { Instrument } from '@/lib/types'
import { Dialog, DialogContent, DialogDescription, DialogTitle } from '@/components/ui/dialog'
import { Command, CommandEmpty, CommandGroup, CommandInput, CommandItem, CommandList } from '@/components/ui/command'

interface Props {
  open: boolean
  onOpenChange: (open: boolean) => void
  instruments: Instrument[]
  watchlist: string[]
  onAdd: (symbol: string) => void
  onSelect: (symbol: string) => void
}

/** Search every symbol by name or description; Enter adds it to the watchlist and shows it. */
export function SymbolSearch({ open, onOpenChange, instruments, watchlist, onAdd, onSelect }: Props) {
  const { t } = useTranslation()
  const kinds = [...new Set(instruments.map((i) => i.kind))]
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="p-0">
        <DialogTitle className="sr-only">{t('watchlist.searchTitle')}</DialogTitle>
        <DialogDescription className="sr-only">{t('watchlist.searchDescription')}</DialogDescription>
        <Command label={t('watchlist.searchTitle')}>
          <CommandInput placeholder={t('watchlist.searchPlaceholder')} aria-label={t('watchlist.searchPlaceholder')} />
          <CommandList>
            <CommandEmpty>{t('watchlist.noMatch')}</CommandEmpty>
            {kinds.map((kind) => (
              <CommandGroup key={kind} heading={t(`watchlist.kind.${kind}`, { defaultValue: kind })}>
                {instruments
                  .filter((i) => i.kind === kind)
                  .map((i) => {
                    const inList = watchlist.includes(i.symbol)
                    return (
                      <CommandItem
                        key={i.symbol}
                        value={`${i.symbol} ${i.description}`}
                        onSelect={() => {
                          if (!inList) onAdd(i.symbol)
                          onSelect(i.symbol)
                          onOpenChange(false)
                        }}
                      >
                        {inList ? <CheckIcon aria-hidden className="size-4" /> : <PlusIcon aria-hidden className="size-4" />}
                        <span className="font-medium">{i.symbol}</span>
                        <span className="truncate text-muted-foreground">{i.description}</span>
                        <span className="sr-only">{inList ? t('watchlist.inList') : t('watchlist.addHint')}</span>
                      </CommandItem>
                    )
                  })}
              </CommandGroup>
            ))}
          </CommandList>
        </Command>
      </DialogContent>
    </Dialog>
  )
}
