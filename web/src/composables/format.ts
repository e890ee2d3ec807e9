const numberFormat = new Intl.NumberFormat('en-US')
const dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' })

export const formatNumber = (value: number | null | undefined) => (value === null || value === undefined ? '—' : numberFormat.format(value))

export const formatDate = (value: string | null | undefined) => (value ? dateFormat.format(new Date(value)) : '—')

/** "4 min 05 s" for a countdown. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const minutes = Math.floor(total / 60)
  const seconds = total % 60
  return minutes > 0 ? `${minutes} min ${String(seconds).padStart(2, '0')} s` : `${seconds} s`
}

/** An ISO instant as the value of an <input type="datetime-local"> (local time), and back. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return ''
  const date = new Date(iso)
  const offset = date.getTimezoneOffset() * 60_000
  return new Date(date.getTime() - offset).toISOString().slice(0, 16)
}

export function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null
}

/** A number input's value as an integer, or null when left empty. */
export function optionalInt(value: string | number | null | undefined): number | null {
  if (value === '' || value === null || value === undefined) return null
  const n = typeof value === 'number' ? value : Number(value)
  return Number.isFinite(n) ? Math.trunc(n) : null
}
