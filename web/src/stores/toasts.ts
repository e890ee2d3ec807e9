import { defineStore } from 'pinia'
import { ref } from 'vue'
import { describeError } from '@/api/http'

export type ToastKind = 'error' | 'success' | 'info'

export interface Toast {
  id: number
  kind: ToastKind
  message: string
}

// Errors stay long enough to be read (and until dismissed if hovered or focused); confirmations go sooner.
const lifetimes: Record<ToastKind, number> = { error: 12_000, success: 6_000, info: 6_000 }

export const useToasts = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([])
  let next = 1
  const timers = new Map<number, ReturnType<typeof setTimeout>>()

  function dismiss(id: number) {
    toasts.value = toasts.value.filter((t) => t.id !== id)
    clearTimeout(timers.get(id))
    timers.delete(id)
  }

  function hold(id: number) {
    clearTimeout(timers.get(id))
    timers.delete(id)
  }

  function push(kind: ToastKind, message: string) {
    const id = next++
    toasts.value = [...toasts.value.slice(-4), { id, kind, message }]
    timers.set(id, setTimeout(() => dismiss(id), lifetimes[kind]))
    return id
  }

  return {
    toasts,
    dismiss,
    hold,
    error: (error: unknown) => push('error', describeError(error)),
    success: (message: string) => push('success', message),
    info: (message: string) => push('info', message),
  }
})
