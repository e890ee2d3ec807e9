import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, request, useTokenSource } from '@/api/http'
import type { Tokens, User } from '@/api/types'

/** Seconds before expiry at which the access token is renewed: a quarter of its life, at most a minute. */
export function refreshDelaySeconds(expiresIn: number): number {
  return Math.max(5, expiresIn - Math.min(60, expiresIn * 0.25))
}

// Tokens live in this module's memory only: nothing is written to localStorage or sessionStorage,
// so a reload or a new tab asks to sign in again.
export const useAuth = defineStore('auth', () => {
  const accessToken = ref<string | null>(null)
  const user = ref<User | null>(null)
  const expiresAt = ref<number | null>(null)
  const sessionEnded = ref(false)
  let refreshToken: string | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  let refreshing: Promise<boolean> | null = null
  const onExpired: Array<() => void> = []

  const signedIn = computed(() => accessToken.value !== null && user.value !== null)
  const isAdmin = computed(() => user.value?.role === 'ADMIN')

  function accept(tokens: Tokens) {
    accessToken.value = tokens.accessToken
    refreshToken = tokens.refreshToken
    expiresAt.value = Date.now() + tokens.expiresIn * 1000
    clearTimeout(timer)
    timer = setTimeout(() => void refresh(), refreshDelaySeconds(tokens.expiresIn) * 1000)
  }

  function clear() {
    clearTimeout(timer)
    accessToken.value = null
    refreshToken = null
    expiresAt.value = null
    user.value = null
  }

  async function login(email: string, password: string) {
    const { data } = await request<Tokens>('POST', '/auth/login', { body: { email, password }, auth: false })
    accept(data)
    try {
      user.value = await api.get<User>('/users/me')
    } catch (error) {
      clear()
      throw error
    }
    sessionEnded.value = false
    return user.value
  }

  async function register(email: string, password: string, displayName: string | null) {
    await request<User>('POST', '/auth/register', { body: { email, password, displayName }, auth: false })
    return login(email, password)
  }

  /** Rotates the refresh token; concurrent callers share one rotation (a second use of a token revokes the family). */
  function refresh(): Promise<boolean> {
    if (!refreshToken) return Promise.resolve(false)
    refreshing ??= (async () => {
      try {
        const { data } = await request<Tokens>('POST', '/auth/refresh', { body: { refreshToken }, auth: false })
        accept(data)
        return true
      } catch {
        expired()
        return false
      } finally {
        refreshing = null
      }
    })()
    return refreshing
  }

  function expired() {
    if (accessToken.value === null) return
    clear()
    sessionEnded.value = true
    onExpired.forEach((listener) => listener())
  }

  function logout() {
    clear()
    sessionEnded.value = false
  }

  function whenExpired(listener: () => void) {
    onExpired.push(listener)
  }

  useTokenSource({ accessToken: () => accessToken.value, refresh, expired })

  return { accessToken, user, expiresAt, signedIn, isAdmin, sessionEnded, login, register, refresh, logout, whenExpired }
})
