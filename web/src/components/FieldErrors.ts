import { ref } from 'vue'
import { ApiError } from '@/api/http'

/** The per-field messages of a 400 problem (`errors: {field: [messages]}`), for showing beside the inputs. */
export function useFieldErrors() {
  const fieldErrors = ref<Record<string, string>>({})

  function take(error: unknown) {
    const errors = error instanceof ApiError ? error.problem?.errors : undefined
    fieldErrors.value = Object.fromEntries(Object.entries(errors ?? {}).map(([field, messages]) => [field, messages.join(' ')]))
  }

  function clear() {
    fieldErrors.value = {}
  }

  return { fieldErrors, take, clear }
}
