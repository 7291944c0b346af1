import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { ChevronDownIcon, PlusIcon, WalletIcon } from 'lucide-react'
import { errorMessage } from '@/lib/errors'
import { formatMoney } from '@/lib/format'
import { selectAccount, useActiveAccount } from '@/lib/session'
import { stream } from '@/lib/ws/stream'
import { Button } from '@/components/ui/button'
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu'
import { useOpenDemo } from '@/features/account/api/accounts'

/** Pick the live or a demo account; open a new demo account. */
export function AccountSwitcher() {
  const { t } = useTranslation()
  const { account, accounts } = useActiveAccount()
  const openDemo = useOpenDemo()
  const [menuOpen, setMenuOpen] = useState(false)

  async function newDemo() {
    try {
      const created = await openDemo.mutateAsync({})
      stream.refreshAccounts()
      if (created) selectAccount(created.id)
      toast.success(t('account.demoOpened'))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }

  return (
    <DropdownMenu open={menuOpen} onOpenChange={setMenuOpen}>
      <DropdownMenuTrigger asChild>
        <Button variant="outline" size="sm" className="max-w-56 max-sm:px-2" aria-label={t('account.switcher', { account: account ? `${t(`account.type.${account.type}`)} ${account.number}` : t('account.none') })}>
          <WalletIcon aria-hidden />
          <span className="truncate">
            {account ? (
              <>
                <span className="uppercase">{t(`account.type.${account.type}`)}</span>{' '}
                <span className="num max-sm:hidden">{account.number}</span>
              </>
            ) : (
              t('account.none')
            )}
          </span>
          <ChevronDownIcon aria-hidden />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end" className="w-72">
        <DropdownMenuLabel>{t('account.accounts')}</DropdownMenuLabel>
        <DropdownMenuRadioGroup value={account ? String(account.id) : ''} onValueChange={(v) => selectAccount(Number(v))}>
          {accounts.map((a) => (
            <DropdownMenuRadioItem key={a.id} value={String(a.id)}>
              <span className="flex w-full items-center justify-between gap-2">
                <span>
                  <span className="uppercase">{t(`account.type.${a.type}`)}</span> <span className="num">{a.number}</span>
                </span>
                <span className="num text-muted-foreground">{formatMoney(a.balance, a.currency)}</span>
              </span>
            </DropdownMenuRadioItem>
          ))}
        </DropdownMenuRadioGroup>
        <DropdownMenuSeparator />
        <DropdownMenuItem disabled={openDemo.isPending} onSelect={() => void newDemo()}>
          <PlusIcon aria-hidden />
          {t('account.openDemo')}
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  )
}

/** A button that opens a funded demo account and switches to it (shown to users with no money yet). */
export function OpenDemoButton() {
  const { t } = useTranslation()
  const openDemo = useOpenDemo()
  async function open() {
    try {
      const created = await openDemo.mutateAsync({})
      stream.refreshAccounts()
      if (created) selectAccount(created.id)
      toast.success(t('account.demoOpened'))
    } catch (err) {
      toast.error(errorMessage(t, err))
    }
  }
  return (
    <Button size="sm" variant="outline" disabled={openDemo.isPending} onClick={() => void open()}>
      <PlusIcon aria-hidden />
      {t('account.openDemo')}
    </Button>
  )
}
