import * as React from 'react'
import { cn } from '@/lib/utils'

/** A native <select>: keyboard- and screen-reader-friendly everywhere, a good picker on phones. */
export function NativeSelect({ className, children, ...props }: React.ComponentProps<'select'>) {
  return (
    <select
      data-slot="native-select"
      className={cn(
        'h-9 w-full rounded-md border border-input bg-background px-3 text-base outline-none md:text-sm',
        'focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/50 aria-invalid:border-destructive disabled:opacity-50',
        className,
      )}
      {...props}
    >
      {children}
    </select>
  )
}
