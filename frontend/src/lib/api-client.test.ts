import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError, onSessionExpired, request, resetCsrf } from '@/lib/api-client'

type Call = { url: string; method: string; headers: Record<string, string>; body?: unknown }
let calls: Call[] = []
let handler: (call: Call) => Response

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

beforeEach(() => {
  calls = []
  resetCsrf()
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const call: Call = {
      url,
      method: init.method ?? 'GET',
      headers: (init.headers as Record<string, string>) ?? {},
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
    }
    calls.push(call)
    return handler(call)
  })
})
afterEach(() => vi.unstubAllGlobals())

describe('api client', () => {
  it('sends the CSRF token on unsafe requests, fetched once', async () => {
    handler = (c) => (c.url === '/api/auth/csrf' ? json(200, { csrf_token: 'tok1' }) : json(200, { ok: true }))
    await api('/api/orders', { method: 'POST', body: { a: 1 } })
    await api('/api/orders/1', { method: 'DELETE' })
    await api('/api/positions')
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /api/auth/csrf', 'POST /api/orders', 'DELETE /api/orders/1', 'GET /api/positions'])
    expect(calls[1]!.headers['X-CSRFToken']).toBe('tok1')
    expect(calls[1]!.body).toEqual({ a: 1 })
    expect(calls[3]!.headers['X-CSRFToken']).toBeUndefined()
  })

  it('refreshes once on 401 and retries the request', async () => {
    let sessionValid = false
    handler = (c) => {
      if (c.url === '/api/auth/csrf') return json(200, { csrf_token: 't' })
      if (c.url === '/api/auth/refresh') {
        sessionValid = true
        return json(200, {})
      }
      return sessionValid ? json(200, [{ id: 1 }]) : json(401, { error: { code: 'unauthorized', message: 'no' } })
    }
    const data = await api<{ id: number }[]>('/api/accounts', { query: { type: 'live', empty: '' } })
    expect(data).toEqual([{ id: 1 }])
    expect(calls.filter((c) => c.url === '/api/auth/refresh')).toHaveLength(1)
    expect(calls.filter((c) => c.url.startsWith('/api/accounts')).map((c) => c.url)).toEqual(['/api/accounts?type=live', '/api/accounts?type=live'])
  })

  it('reports an expired session when the refresh is refused', async () => {
    handler = (c) =>
      c.url === '/api/auth/csrf' ? json(200, { csrf_token: 't' }) : json(401, { error: { code: 'unauthorized', message: 'no' } })
    const expired = vi.fn()
    const off = onSessionExpired(expired)
    await expect(api('/api/accounts')).rejects.toMatchObject({ status: 401, code: 'unauthorized' })
    off()
    expect(expired).toHaveBeenCalledTimes(1)
  })

  it('never refreshes for the login call itself', async () => {
    handler = (c) =>
      c.url === '/api/auth/csrf' ? json(200, { csrf_token: 't' }) : json(401, { error: { code: 'invalid_credentials', message: 'bad' } })
    const err = await api('/api/auth/login', { method: 'POST', body: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('invalid_credentials')
    expect(calls.some((c) => c.url === '/api/auth/refresh')).toBe(false)
  })

  it('turns the error envelope into ApiError with fields', async () => {
    handler = (c) =>
      c.url === '/api/auth/csrf'
        ? json(200, { csrf_token: 't' })
        : json(422, { error: { code: 'insufficient_margin', message: 'Not enough', fields: { volume: ['too big'] } } })
    const err = (await api('/api/orders', { method: 'POST', body: {} }).catch((e: unknown) => e)) as ApiError
    expect(err.status).toBe(422)
    expect(err.code).toBe('insufficient_margin')
    expect(err.fields).toEqual({ volume: ['too big'] })
  })

  it('fetches a new CSRF token and retries once when the token went stale', async () => {
    let n = 0
    handler = (c) => {
      if (c.url === '/api/auth/csrf') return json(200, { csrf_token: `t${++n}` })
      return c.headers['X-CSRFToken'] === 't2' ? json(201, { id: 9 }) : json(403, { error: { code: 'csrf_failed', message: 'stale' } })
    }
    const res = await request<{ id: number }>('/api/deposits', { method: 'POST', body: {} })
    expect(res.status).toBe(201)
    expect(res.data).toEqual({ id: 9 })
  })

  it('maps network failures to network_error', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')))
    await expect(api('/api/market/symbols')).rejects.toMatchObject({ code: 'network_error', status: 0 })
  })
})
