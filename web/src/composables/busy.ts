import { ref } from 'vue'
import { useToasts } from '@/stores/toasts'

/**
 * Runs API actions with a loading flag, and shows any refusal as a toast (its problem detail or title).
 * `run` resolves with the action's value, or undefined when it failed.
 */
export function useBusy() {
  const busy = ref(false)
  const toasts = useToasts()

  async function run<T>(action: () => Promise<T>, success?: string | ((value: T) => string)): Promise<T | undefined> {
    busy.value = true
    try {
      const value = await action()
      if (success) toasts.success(typeof success === 'function' ? success(value) : success)
      return value
    } catch (error) {
      toasts.error(error)
      return undefined
    } finally {
      busy.value = false
    }
  }

  return { busy, run }
}
