import { onBeforeUnmount, ref } from 'vue'
import { api } from '@/api/http'
import type { Job } from '@/api/types'

const pollMs = 400

/**
 * Follows a job (GET /jobs/{id}) until it succeeds or fails, exposing it for a progress bar.
 * Polling stops when the component unmounts.
 */
export function useJob<R>() {
  const job = ref<Job<R> | null>(null)
  const running = ref(false)
  let stop: AbortController | null = null
  onBeforeUnmount(() => stop?.abort())

  async function follow(jobId: string): Promise<Job<R> | null> {
    stop?.abort()
    const mine = new AbortController()
    stop = mine
    running.value = true
    job.value = { id: jobId, kind: '', state: 'queued', total: 0, processed: 0, result: null, error: null }
    try {
      for (;;) {
        const current = await api.get<Job<R>>(`/jobs/${jobId}`, undefined, mine.signal)
        if (mine.signal.aborted) return null
        job.value = current
        if (current.state === 'succeeded' || current.state === 'failed') return current
        await new Promise((resolve) => setTimeout(resolve, pollMs))
        if (mine.signal.aborted) return null
      }
    } catch (error) {
      if (mine.signal.aborted) return null
      throw error
    } finally {
      if (stop === mine) running.value = false
    }
  }

  function reset() {
    stop?.abort()
    job.value = null
    running.value = false
  }

  return { job, running, follow, reset }
}
