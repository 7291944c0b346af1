import { useEffect, useState, type ReactNode } from 'react'
import { QueryClientProvider, useQueryClient } from '@tanstack/react-query'
import { onSessionExpired } from '@/lib/api-client'
import { createQueryClient } from '@/lib/query-client'
import { qk } from '@/lib/query-keys'
import { useTheme } from '@/lib/theme'
import { Toaster } from '@/components/ui/sonner'

function SessionWatcher() {
  const qc = useQueryClient()
  useEffect(
    // Refresh refused: the user is signed out; RequireAuth sends them to /login.
    () => onSessionExpired(() => qc.setQueryData(qk.me, null)),
    [qc],
  )
  return null
}

export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(createQueryClient)
  const { resolved } = useTheme()
  return (
    <QueryClientProvider client={client}>
      <SessionWatcher />
      {children}
      <Toaster theme={resolved} position="top-right" closeButton richColors={false} />
    </QueryClientProvider>
  )
}
