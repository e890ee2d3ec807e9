// The one way the console talks to the API: JSON in and out, the bearer token attached, a 401 answered
// by one refresh and one retry, and every refusal turned into an ApiError carrying the problem details.
import type { CodeIssue } from './types'

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  traceId?: string
  errors?: Record<string, string[]>
  offenders?: CodeIssue[]
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem | null

  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem?.detail || problem?.title || fallback)
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
  }

  get code(): string | undefined {
    return this.problem?.code
  }
}

/** What a person should read about a failure: the problem's detail, else its title, else the error's message. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof TypeError) return 'The API cannot be reached. Check your connection and try again.'
  if (error instanceof Error) return error.message
  return String(error)
}

/** The auth store registers itself here, so this module needs no import of it. */
export interface TokenSource {
  accessToken(): string | null
  /** Gets a fresh access token; false when the session cannot be renewed. */
  refresh(): Promise<boolean>
  /** Called when the session is over (refresh refused). */
  expired(): void
}

let tokens: TokenSource | null = null
export function useTokenSource(source: TokenSource) {
  tokens = source
}

export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  headers?: Record<string, string>
  /** false for register, login and refresh. */
  auth?: boolean
  signal?: AbortSignal
}

export interface ApiResponse<T> {
  status: number
  data: T
  headers: Headers
}

export function apiUrl(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const search = params.toString()
  return `/api/v1${path}${search ? `?${search}` : ''}`
}

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...options.headers }
  let body: BodyInit | undefined
  if (options.body instanceof FormData || options.body instanceof Blob) {
    body = options.body
  } else if (options.body !== undefined) {
    headers['Content-Type'] ??= 'application/json'
    body = JSON.stringify(options.body)
  }
  const token = options.auth === false ? null : tokens?.accessToken()
  if (token) headers.Authorization = `Bearer ${token}`
  return fetch(apiUrl(path, options.query), { method, headers, body, signal: options.signal })
}

async function readProblem(response: Response): Promise<Problem | null> {
  const type = response.headers.get('Content-Type') ?? ''
  if (!type.includes('json')) return null
  try {
    return (await response.json()) as Problem
  } catch {
    return null
  }
}

/** Sends a request; resolves with the response when it succeeded (2xx), throws ApiError otherwise. */
export async function requestRaw(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  let response = await send(method, path, options)
  if (response.status === 401 && options.auth !== false && tokens?.accessToken()) {
    // The token may have run out while the page slept; renew it once and try again.
    if (await tokens.refresh()) {
      response = await send(method, path, options)
    }
    if (response.status === 401) tokens.expired()
  }
  if (!response.ok) {
    throw new ApiError(response.status, await readProblem(response), `The API answered ${response.status} ${response.statusText}.`.trim())
  }
  return response
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const response = await requestRaw(method, path, options)
  const text = await response.text()
  return { status: response.status, data: (text ? JSON.parse(text) : null) as T, headers: response.headers }
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }).then((r) => r.data),
  post: <T>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('POST', path, { ...options, body }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }).then((r) => r.data),
  delete: (path: string) => request<null>('DELETE', path).then(() => undefined),
}

/** A fresh Idempotency-Key; getRandomValues works outside secure contexts too (plain http on a LAN host). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
