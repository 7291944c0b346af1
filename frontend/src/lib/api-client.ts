// The one HTTP client: cookie session, X-CSRFToken on unsafe requests, refresh-and-retry on 401,
// and the error envelope {"error": {"code", "message", "fields"?}} turned into ApiError.

export type FieldErrors = Record<string, string[] | string | Record<string, unknown>>

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: FieldErrors | undefined
  readonly body: unknown

  constructor(status: number, code: string, message: string, fields?: FieldErrors, body?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields
    this.body = body
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  query?: Record<string, string | number | boolean | null | undefined>
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Skip the refresh-and-retry (the auth endpoints themselves). */
  noRefresh?: boolean
}

export interface ApiResponse<T> {
  status: number
  data: T
  headers: Headers
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
// Answers to these never trigger a refresh: a 401 from them is the answer itself.
const NO_REFRESH_PATHS = ['/api/auth/login', '/api/auth/refresh', '/api/auth/csrf', '/api/auth/register']

let csrfToken: string | null = null
let csrfPromise: Promise<string> | null = null
let refreshPromise: Promise<boolean> | null = null
const sessionListeners = new Set<() => void>()

/** Called when the session is gone for good (refresh refused): the app sends the user to login. */
export function onSessionExpired(listener: () => void): () => void {
  sessionListeners.add(listener)
  return () => sessionListeners.delete(listener)
}

/** Forget the CSRF token (it is bound to the session: a new login issues a new one). */
export function resetCsrf(): void {
  csrfToken = null
  csrfPromise = null
}

export async function getCsrfToken(): Promise<string> {
  if (csrfToken) return csrfToken
  csrfPromise ??= fetch('/api/auth/csrf', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(async (res) => {
      if (!res.ok) throw await toApiError(res)
      const body = (await res.json()) as { csrf_token: string }
      csrfToken = body.csrf_token
      return csrfToken
    })
    .finally(() => {
      csrfPromise = null
    })
  return csrfPromise
}

/** POST /api/auth/refresh once for all concurrent callers; true when the session was renewed. */
export function refreshSession(): Promise<boolean> {
  refreshPromise ??= (async () => {
    try {
      const token = await getCsrfToken()
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json', 'X-CSRFToken': token },
      })
      return res.ok
    } catch {
      return false
    }
  })().finally(() => {
    refreshPromise = null
  })
  return refreshPromise
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined
  const type = res.headers.get('content-type') ?? ''
  if (type.includes('application/json')) {
    try {
      return await res.json()
    } catch {
      return undefined
    }
  }
  return await res.text()
}

export async function toApiError(res: Response, body?: unknown): Promise<ApiError> {
  const data = body === undefined ? await readBody(res) : body
  const envelope = (data as { error?: { code?: string; message?: string; fields?: FieldErrors } } | undefined)?.error
  if (envelope && typeof envelope === 'object') {
    return new ApiError(res.status, envelope.code ?? 'error', envelope.message ?? res.statusText, envelope.fields, data)
  }
  return new ApiError(res.status, res.status >= 500 ? 'server_error' : 'error', res.statusText || 'Request failed', undefined, data)
}

function isCsrfFailure(err: ApiError): boolean {
  return (err.status === 400 || err.status === 403) && err.code.startsWith('csrf')
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const method = options.method ?? 'GET'
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  let body: BodyInit | undefined
  if (options.body instanceof FormData) {
    body = options.body
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  if (UNSAFE.has(method)) headers['X-CSRFToken'] = await getCsrfToken()
  try {
    return await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network_error', 'The server could not be reached')
  }
}

/** Send a request and return status, data and headers; throws ApiError for non-2xx answers. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  let res = await send(path, options)
  const mayRefresh = !options.noRefresh && !NO_REFRESH_PATHS.some((p) => path.startsWith(p))
  if (res.status === 401 && mayRefresh) {
    if (await refreshSession()) {
      resetCsrf()
      res = await send(path, options)
    }
    if (res.status === 401) sessionListeners.forEach((listener) => listener())
  }
  let data = await readBody(res)
  if (!res.ok) {
    const err = await toApiError(res, data)
    if (!isCsrfFailure(err)) throw err
    // The token went stale (new session): fetch a fresh one and try once more.
    resetCsrf()
    res = await send(path, options)
    data = await readBody(res)
    if (!res.ok) throw await toApiError(res, data)
  }
  return { status: res.status, data: data as T, headers: res.headers }
}

/** Send a request and return only the parsed body. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await request<T>(path, options)).data
}

/** Download a response body as a file (CSV export) with the session cookie. */
export async function download(path: string, query: RequestOptions['query'], filename: string): Promise<void> {
  let res = await fetch(buildUrl(path, query), { credentials: 'same-origin' })
  if (res.status === 401 && (await refreshSession())) res = await fetch(buildUrl(path, query), { credentials: 'same-origin' })
  if (!res.ok) throw await toApiError(res)
  const blob = await res.blob()
  saveBlob(blob, filename)
}

/** Offer a Blob to the user as a download. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

export interface UploadOptions {
  onProgress?: (fraction: number) => void
  signal?: AbortSignal
}

function xhrUpload(path: string, form: FormData, token: string, options: UploadOptions): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', path)
    xhr.withCredentials = true
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('X-CSRFToken', token)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) options.onProgress?.(e.loaded / e.total)
    }
    xhr.onload = () => {
      let body: unknown = undefined
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined
      } catch {
        body = xhr.responseText
      }
      resolve({ status: xhr.status, body })
    }
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'The server could not be reached'))
    xhr.onabort = () => reject(new DOMException('Upload aborted', 'AbortError'))
    options.signal?.addEventListener('abort', () => xhr.abort())
    xhr.send(form)
  })
}

/** Upload multipart data with progress (fetch has no upload progress; XMLHttpRequest does). */
export async function upload<T>(path: string, form: FormData, options: UploadOptions = {}): Promise<T> {
  let result = await xhrUpload(path, form, await getCsrfToken(), options)
  if (result.status === 401 && (await refreshSession())) {
    resetCsrf()
    result = await xhrUpload(path, form, await getCsrfToken(), options)
  }
  if (result.status < 200 || result.status >= 300) {
    const envelope = (result.body as { error?: { code?: string; message?: string; fields?: FieldErrors } } | undefined)
      ?.error
    throw new ApiError(result.status, envelope?.code ?? 'error', envelope?.message ?? 'Upload failed', envelope?.fields, result.body)
  }
  return result.body as T
}
