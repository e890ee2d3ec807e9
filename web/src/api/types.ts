// Shapes of the REST contract (/api/v1), as the API answers them.

export type Role = 'USER' | 'ADMIN'
export type CouponState = 'UNASSIGNED' | 'ASSIGNED' | 'LOCKED' | 'REDEEMED'
export const couponStates: CouponState[] = ['UNASSIGNED', 'ASSIGNED', 'LOCKED', 'REDEEMED']

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface Tokens {
  accessToken: string
  tokenType: string
  expiresIn: number
  refreshToken: string
}

export interface User {
  id: string
  email: string
  displayName: string | null
  role: Role
  disabled: boolean
  createdAt: string
}

export interface BookStats {
  total: number
  unassigned: number
  assigned: number
  locked: number
  redeemed: number
}

export interface Book {
  id: string
  name: string
  description: string | null
  maxAssignmentsPerUser: number | null
  maxTotalAssignments: number | null
  maxRedemptionsPerCoupon: number
  lockTtlSeconds: number
  validFrom: string | null
  validUntil: string | null
  createdAt: string
  stats: BookStats
}

/** The settings a book is created or patched with. */
export interface BookSettings {
  name: string
  description: string | null
  maxAssignmentsPerUser: number | null
  maxTotalAssignments: number | null
  maxRedemptionsPerCoupon: number | null
  lockTtlSeconds: number | null
  validFrom: string | null
  validUntil: string | null
}

export interface Coupon {
  code: string
  bookId: string
  state: CouponState
  userId: string | null
  assignedAt: string | null
  lockedUntil: string | null
  redemptionCount: number
  redeemedAt: string | null
}

export interface CodeIssue {
  line: number
  value: string
  reason: string
}

export interface UploadReport {
  accepted: number
  skipped: CodeIssue[]
  skippedCount?: number
}

export interface JobAccepted {
  jobId: string
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed'

export interface Job<R = unknown> {
  id: string
  kind: string
  state: JobState
  total: number
  processed: number
  result: R | null
  error: { code: string | null; detail: string; offenders: CodeIssue[] | null } | null
}

export interface Pool {
  id: string
  name: string
  description: string | null
  createdAt: string
  memberCount: number
}

export interface AddMembersResult {
  added: number
  alreadyMembers: number
  unknown: string[]
}

export interface DistributionResult {
  requested: number
  assigned: number
  skippedUserLimit: number
  skippedBookLimit: number
  exhausted: boolean
  seed: number
}

export const auditActions = [
  'book.created',
  'book.updated',
  'book.codes-generated',
  'book.codes-uploaded',
  'pool.created',
  'pool.deleted',
  'pool.members-added',
  'pool.members-removed',
  'pool.distribution-started',
  'user.updated',
] as const

export interface AuditEntry {
  id: string
  at: string
  actorId: string | null
  actorEmail: string | null
  action: string
  targetType: string | null
  targetId: string | null
  details: unknown
}
