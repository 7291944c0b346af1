import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { useIsPhone } from '@/lib/use-media'
import { cn } from '@/lib/utils'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { DefinitionList } from '@/features/admin/components/admin-ui'

export interface Column<T> {
  key: string
  header: ReactNode
  cell: (row: T) => ReactNode
  /** Numbers are right-aligned in the table. */
  numeric?: boolean
  /** The cell that names the row (a row header for screen readers; the card's title on phones). */
  rowHeader?: boolean
  /** Left out of the phone card (secondary detail). */
  hideOnPhone?: boolean
  className?: string
}

/**
 * A native table on larger screens and a list of cards (label/value pairs) on phones, from one
 * column definition, so both layouts always show the same data.
 */
export function DataTable<T>({
  label,
  rows,
  columns,
  rowKey,
  actions,
  testId,
}: {
  label: string
  rows: T[]
  columns: Column<T>[]
  rowKey: (row: T) => string | number
  actions?: (row: T) => ReactNode
  testId?: (row: T) => string
}) {
  const { t } = useTranslation()
  const phone = useIsPhone()
  if (phone) {
    const title = columns.find((c) => c.rowHeader)
    const rest = columns.filter((c) => c !== title && !c.hideOnPhone)
    return (
      <ul aria-label={label} className="grid gap-2">
        {rows.map((row) => (
          <li key={rowKey(row)} className="grid gap-2 rounded-lg border p-3 text-sm" data-testid={testId?.(row)}>
            {title ? <div className="font-semibold">{title.cell(row)}</div> : null}
            <DefinitionList items={rest.map((c) => [c.header, c.cell(row)])} />
            {actions ? <div className="flex flex-wrap justify-end gap-2">{actions(row)}</div> : null}
          </li>
        ))}
      </ul>
    )
  }
  return (
    <Table label={label}>
      <TableHeader>
        <TableRow>
          {columns.map((c) => (
            <TableHead key={c.key} className={cn(c.numeric && 'text-right', c.className)}>
              {c.header}
            </TableHead>
          ))}
          {actions ? <TableHead className="text-right">
              <span className="sr-only">{t('common.actions')}</span>
            </TableHead> : null}
        </TableRow>
      </TableHeader>
      <TableBody>
        {rows.map((row) => (
          <TableRow key={rowKey(row)} data-testid={testId?.(row)}>
            {columns.map((c) =>
              c.rowHeader ? (
                <th key={c.key} scope="row" className={cn('whitespace-nowrap px-2 py-1.5 text-left font-medium', c.numeric && 'text-right num', c.className)}>
                  {c.cell(row)}
                </th>
              ) : (
                <TableCell key={c.key} className={cn(c.numeric && 'text-right num', c.className)}>
                  {c.cell(row)}
                </TableCell>
              ),
            )}
            {actions ? (
              <TableCell className="text-right">
                <div className="flex justify-end gap-2">{actions(row)}</div>
              </TableCell>
            ) : null}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  )
}
