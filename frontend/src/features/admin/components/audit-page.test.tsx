import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { createMemoryRouter, RouterProvider } from 'react-router'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AuditPage } from '@/features/admin/components/audit-page'

const ROW = {
  id: 17,
  created_at: '2026-11-29T10:00:00+00:00',
  actor_type: 'user',
  actor_id: '42',
  impersonator_id: null,
  action: 'auth.login',
  target_type: 'session',
  target_id: 'abc',
  ip: '10.0.0.7',
  user_agent: '=HYPERLINK("x")',
  request_id: 'req-1',
  outcome: 'success',
  details: { method: 'password+totp' },
  prev_hash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
}

let requests: string[] = []
let chain = { status: 'verified', checked: 120, broken_at: null as number | null, reason: null as string | null }

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

beforeEach(() => {
  requests = []
  chain = { status: 'verified', checked: 120, broken_at: null, reason: null }
  vi.stubGlobal('fetch', async (url: string) => {
    requests.push(url)
    if (url.startsWith('/api/admin/audit/chain')) return json(chain)
    if (url === '/api/admin/audit/17') return json(ROW)
    if (url.startsWith('/api/admin/audit?')) return json({ items: [ROW], total: 1, page: 1, per_page: 50 })
    return json({ error: { code: 'not_found', message: 'no' } }, 404)
  })
})
afterEach(() => vi.unstubAllGlobals())

function renderAt(url: string) {
  const router = createMemoryRouter([{ path: '/admin/audit', element: <AuditPage /> }], { initialEntries: [url] })
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  )
  return router
}

const listRequests = () => requests.filter((u) => u.startsWith('/api/admin/audit?')).map((u) => new URLSearchParams(u.split('?')[1]))

describe('the audit page', () => {
  it('asks the API for the filters in the URL and links the CSV export to the same filters', async () => {
    renderAt('/admin/audit?actor=user%3A42&action=auth.login&page=2')
    await screen.findByTestId('audit-row-17')
    const query = listRequests().at(-1)!
    expect(Object.fromEntries(query)).toEqual({ actor: 'user:42', action: 'auth.login', page: '2', per_page: '50', sort: '-id' })
    const link = screen.getByRole('link', { name: 'Export CSV' })
    expect(link).toHaveAttribute('href', '/api/admin/audit.csv?actor=user%3A42&action=auth.login')
    expect(screen.getByLabelText('Actor')).toHaveValue('user:42')
  })

  it('writes applied filters into the URL (page back to 1) and refetches with them', async () => {
    const router = renderAt('/admin/audit?action=auth.login&page=3')
    await screen.findByTestId('audit-row-17')
    const user = userEvent.setup()
    await user.type(screen.getByLabelText('IP address'), '10.0.0.7')
    await user.selectOptions(screen.getByLabelText('Outcome'), 'failure')
    await user.click(screen.getByRole('button', { name: 'Apply filters' }))
    await waitFor(() =>
      expect(router.state.location.search).toBe('?action=auth.login&outcome=failure&ip=10.0.0.7'),
    )
    await waitFor(() => expect(listRequests().at(-1)!.get('ip')).toBe('10.0.0.7'))
    expect(listRequests().at(-1)!.get('page')).toBe('1')
  })

  it('sorts by a column through the URL, with aria-sort on the header', async () => {
    const router = renderAt('/admin/audit')
    await screen.findByTestId('audit-row-17')
    const user = userEvent.setup()
    await user.click(screen.getByRole('button', { name: 'Action' }))
    await waitFor(() => expect(router.state.location.search).toBe('?sort=-action'))
    expect(screen.getByRole('columnheader', { name: 'Action' })).toHaveAttribute('aria-sort', 'descending')
  })

  it('shows where the chain breaks and opens that row with its hashes', async () => {
    chain = { status: 'broken', checked: 16, broken_at: 17, reason: 'row content does not match its hash (row altered)' }
    const router = renderAt('/admin/audit')
    const banner = await screen.findByTestId('chain-state')
    expect(banner).toHaveAttribute('data-status', 'broken')
    expect(banner).toHaveTextContent('Audit chain broken at row 17')
    expect(banner).toHaveTextContent('it was changed after it was written')
    const user = userEvent.setup()
    await user.click(screen.getByRole('button', { name: 'Show row 17' }))
    await waitFor(() => expect(router.state.location.search).toBe('?row=17'))
    const dialog = await screen.findByRole('dialog', { name: 'Audit row 17' })
    await waitFor(() => expect(dialog).toHaveTextContent('b'.repeat(64)))
    expect(dialog).toHaveTextContent('The hash chain breaks at this row')
    expect(dialog).toHaveTextContent('password+totp')
  })

  it('ignores invalid parameters instead of sending them', async () => {
    renderAt('/admin/audit?outcome=maybe&sort=evil&per_page=3')
    await screen.findByTestId('audit-row-17')
    expect(Object.fromEntries(listRequests().at(-1)!)).toEqual({ page: '1', per_page: '50', sort: '-id' })
  })
})
