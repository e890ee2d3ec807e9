import { onBeforeUnmount, ref } from 'vue'

/** The current time in milliseconds, updated every `intervalMs` while the component lives. */
export function useNow(intervalMs = 1000) {
  const now = ref(Date.now())
  const timer = setInterval(() => (now.value = Date.now()), intervalMs)
  onBeforeUnmount(() => clearInterval(timer))
  return now
}
