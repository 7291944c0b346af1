import { useState } from 'react'
import { Link, useSearchParams } from 'react-router'
import { useTranslation } from 'react-i18next'
import { SearchIcon } from 'lucide-react'
import { formatDateTime } from '@/lib/format'
import { useIsPhone } from '@/lib/use-media'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { NativeSelect } from '@/components/ui/native-select'
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { useUsers } from '@/features/admin/api/admin'
import type { AdminUser } from '@/features/admin/api/types'
import {
  AdminPage,
  DefinitionList,
  EmptyState,
  LoadingBlock,
  Pagination,
  QueryError,
  StateBadge,
} from '@/features/admin/components/admin-ui'
import {
  LIST_PER_PAGE,
  listApiQuery,
  listParams,
  parseUserParams,
  USER_ROLES,
  USER_STATUSES,
  type UserListState,
} from '@/features/admin/lib/list-params'

export function UserStatusBadge({ status }: { status: string }) {
  const { t } = useTranslation()
  return (
    <StateBadge
      tone={status === 'active' ? 'good' : 'bad'}
      label={t(`admin.users.status.${status}` as 'admin.users.status.active', { defaultValue: status })}
    />
  )
}

function YesNo({ value }: { value: boolean }) {
  const { t } = useTranslation()
  return <span>{value ? t('admin.common.yes') : t('admin.common.no')}</span>
}

function SearchForm({ state, onApply }: { state: UserListState; onApply: (s: UserListState) => void }) {
  const { t } = useTranslation()
  const [q, setQ] = useState(state.q ?? '')
  const [role, setRole] = useState<string>(state.role ?? '')
  const [status, setStatus] = useState<string>(state.status ?? '')
  return (
    <form
      role="search"
      aria-label={t('admin.users.search')}
      className="grid gap-3 rounded-lg border p-3 sm:grid-cols-[1fr_10rem_10rem_auto] sm:items-end"
      onSubmit={(e) => {
        e.preventDefault()
        onApply({
          q: q.trim() || undefined,
          role: (role || undefined) as UserListState['role'],
          status: (status || undefined) as UserListState['status'],
          page: 1,
        })
      }}
    >
      <Field id="users-q" label={t('admin.users.query')} hint={t('admin.users.queryHint')}>
        <Input type="search" value={q} maxLength={200} onChange={(e) => setQ(e.target.value)} autoComplete="off" />
      </Field>
      <Field id="users-role" label={t('admin.users.role')}>
        <NativeSelect value={role} onChange={(e) => setRole(e.target.value)}>
          <option value="">{t('admin.common.any')}</option>
          {USER_ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`admin.users.roles.${r}`)}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Field id="users-status" label={t('admin.users.statusLabel')}>
        <NativeSelect value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('admin.common.any')}</option>
          {USER_STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`admin.users.status.${s}`)}
            </option>
          ))}
        </NativeSelect>
      </Field>
      <Button type="submit" className="sm:mb-[1.375rem]">
        <SearchIcon aria-hidden />
        {t('admin.users.searchButton')}
      </Button>
    </form>
  )
}

function UserTable({ users }: { users: AdminUser[] }) {
  const { t } = useTranslation()
  return (
    <Table label={t('admin.users.tableLabel')}>
      <TableHeader>
        <TableRow>
          <TableHead>{t('admin.users.id')}</TableHead>
          <TableHead>{t('admin.users.email')}</TableHead>
          <TableHead>{t('admin.users.name')}</TableHead>
          <TableHead>{t('admin.users.role')}</TableHead>
          <TableHead>{t('admin.users.statusLabel')}</TableHead>
          <TableHead>{t('admin.users.twoFactor')}</TableHead>
          <TableHead>{t('admin.users.verified')}</TableHead>
          <TableHead>{t('admin.users.created')}</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {users.map((u) => (
          <TableRow key={u.id} data-testid={`user-${u.id}`}>
            <TableCell className="num">{u.id}</TableCell>
            <th scope="row" className="px-2 text-left font-medium">
              <Link to={`/admin/users/${u.id}`} className="text-primary underline-offset-4 hover:underline">
                {u.email}
              </Link>
            </th>
            <TableCell>{`${u.first_name} ${u.last_name}`.trim()}</TableCell>
            <TableCell>{t(`admin.users.roles.${u.role}` as 'admin.users.roles.client', { defaultValue: u.role })}</TableCell>
            <TableCell>
              <UserStatusBadge status={u.status} />
            </TableCell>
            <TableCell>
              <YesNo value={u.totp_enabled} />
            </TableCell>
            <TableCell>
              <YesNo value={u.email_verified} />
            </TableCell>
            <TableCell>{formatDateTime(u.created_at)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  )
}

function UserCards({ users }: { users: AdminUser[] }) {
  const { t } = useTranslation()
  return (
    <ul aria-label={t('admin.users.tableLabel')} className="grid gap-2">
      {users.map((u) => (
        <li key={u.id} className="grid gap-2 rounded-lg border p-3" data-testid={`user-${u.id}`}>
          <div className="flex items-center justify-between gap-2">
            <Link to={`/admin/users/${u.id}`} className="min-w-0 truncate font-semibold text-primary underline-offset-4 hover:underline">
              {u.email}
            </Link>
            <UserStatusBadge status={u.status} />
          </div>
          <DefinitionList
            items={[
              [t('admin.users.id'), <span className="num">{u.id}</span>],
              [t('admin.users.name'), `${u.first_name} ${u.last_name}`.trim()],
              [t('admin.users.role'), t(`admin.users.roles.${u.role}` as 'admin.users.roles.client', { defaultValue: u.role })],
              [t('admin.users.twoFactor'), <YesNo value={u.totp_enabled} />],
              [t('admin.users.created'), formatDateTime(u.created_at)],
            ]}
          />
        </li>
      ))}
    </ul>
  )
}

/** Find users by e-mail, name, id, external id or account number. */
export function UsersPage() {
  const { t } = useTranslation()
  const phone = useIsPhone()
  const [params, setParams] = useSearchParams()
  const state = parseUserParams(params)
  const { data, error, isLoading, isFetching } = useUsers(listApiQuery(state))
  const go = (next: Partial<UserListState>) => setParams(listParams({ ...state, ...next }))
  return (
    <AdminPage title={t('admin.users.title')} description={t('admin.users.description')}>
      <SearchForm key={params.toString()} state={state} onApply={(s) => setParams(listParams(s))} />
      {isLoading ? (
        <LoadingBlock />
      ) : error ? (
        <QueryError error={error} />
      ) : !data || data.items.length === 0 ? (
        <EmptyState>{t('admin.users.empty')}</EmptyState>
      ) : phone ? (
        <UserCards users={data.items} />
      ) : (
        <UserTable users={data.items} />
      )}
      <Pagination
        label={t('admin.users.pagination')}
        page={state.page}
        perPage={LIST_PER_PAGE}
        total={data?.total}
        busy={isFetching}
        onPage={(page) => go({ page })}
      />
    </AdminPage>
  )
}
