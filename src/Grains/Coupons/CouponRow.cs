namespace CouponBooks.Coupons;

/// <summary>A row of the coupons table, with the version its reader saw.</summary>
public sealed record CouponRow(
    string Code,
    Guid BookId,
    CouponState State,
    Guid? UserId,
    DateTimeOffset? AssignedAt,
    DateTimeOffset? LockedUntil,
    int RedemptionCount,
    DateTimeOffset? RedeemedAt,
    int Version)
{
    /// <summary>The state as it reads at <paramref name="now"/>: a run-out lock is ASSIGNED.</summary>
    public CouponState StateAt(DateTimeOffset now) => State == CouponState.Locked && LockedUntil <= now ? CouponState.Assigned : State;

    public CouponView ViewAt(DateTimeOffset now)
    {
        var state = StateAt(now);
        return new CouponView(Code, BookId, state, UserId, AssignedAt, state == CouponState.Locked ? LockedUntil : null, RedemptionCount, RedeemedAt);
    }
}

/// <summary>An Idempotency-Key's first outcome, to store with the change it made.</summary>
public sealed record IdempotencyRecord(Guid CallerId, string Key, string Path, byte[] RequestHash, string OutcomeJson, string? TraceId);

/// <summary>
/// One coupon's change (one transition, or several decided one on another while the previous write committed): its
/// new row (whose <see cref="CouponRow.Version"/> is the version read, the condition of the write), the stored state
/// it leaves, the history rows it adds and the idempotency keys it answers.
/// </summary>
public sealed record CouponWrite(CouponRow Next, CouponState FromState, IReadOnlyList<HistoryEntry> History, IReadOnlyList<IdempotencyRecord> Keys);

/// <summary>A lock of a coupon whose row its grain has not read (see <see cref="CouponWriter.LockUnreadAsync"/>).</summary>
public sealed record UnreadLock(string Code, DateTimeOffset At, Guid ActorId, bool ActorIsAdmin);
