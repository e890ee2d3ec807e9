namespace CouponBooks.Coupons;

/// <summary>Who asks: the caller's user id and whether it is an admin (who may act for any owner).</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.Actor")]
public sealed record Actor([property: Id(0)] Guid UserId, [property: Id(1)] bool IsAdmin)
{
    public bool MayActFor(Guid? owner) => IsAdmin || owner == UserId;
}

/// <summary>
/// A command's Idempotency-Key with what identifies its request: stored with the change the command makes,
/// so a repeat answers the first outcome.
/// </summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.IdempotencyTicket")]
public sealed record IdempotencyTicket(
    [property: Id(0)] Guid CallerId,
    [property: Id(1)] string Key,
    [property: Id(2)] string Path,
    [property: Id(3)] byte[] RequestHash,
    [property: Id(4)] string? TraceId);

/// <summary>A coupon as BookGrain last read it, so a freshly activated coupon need not read it again.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.FreeCoupon")]
public sealed record FreeCoupon([property: Id(0)] string Code, [property: Id(1)] int Version);

/// <summary>One transition in a coupon's history.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.HistoryEntry")]
public sealed record HistoryEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] CouponAction Action,
    [property: Id(2)] CouponState FromState,
    [property: Id(3)] CouponState ToState,
    [property: Id(4)] Guid? UserId,
    [property: Id(5)] Guid? ActorId);

public enum CouponAction
{
    Assign = 0,
    Lock = 1,
    Unlock = 2,
    Expire = 3,
    Redeem = 4,
}

/// <summary>One coupon's state, lock and redemptions; the only writer of its row. Keyed by the upper-case code.</summary>
public interface ICouponGrain : IGrainWithStringKey
{
    /// <summary>The coupon as the actor may see it: its owner or an admin; anyone else gets not-found.</summary>
    Task<Outcome<CouponView>> GetAsync(Actor actor);

    Task<Outcome<IReadOnlyList<HistoryEntry>>> GetHistoryAsync(Actor actor);

    /// <summary>Gives the coupon to a user; only BookGrain calls this, after counting the limits.</summary>
    Task<Outcome<CouponView>> AssignAsync(Guid bookId, Guid userId, Guid actorId, FreeCoupon? known, IdempotencyTicket? ticket);

    Task<Outcome<CouponView>> LockAsync(Actor actor, IdempotencyTicket? ticket);

    Task<Outcome<CouponView>> UnlockAsync(Actor actor, IdempotencyTicket? ticket);

    Task<Outcome<CouponView>> RedeemAsync(Actor actor, IdempotencyTicket? ticket);
}

public enum CouponCommandKind
{
    AssignRandom,
    AssignCode,
    Lock,
    Unlock,
    Redeem,
}

/// <summary>A coupon command as the idempotency grain replays it.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.CouponCommand")]
public sealed record CouponCommand(
    [property: Id(0)] CouponCommandKind Kind,
    [property: Id(1)] Actor Actor,
    [property: Id(2)] Guid? BookId,
    [property: Id(3)] string? Code,
    [property: Id(4)] Guid? UserId);

/// <summary>
/// One caller's Idempotency-Key (key "{callerId:N}/{key}"): runs the command once, stores its outcome with the
/// change, and answers repeats with that outcome; the same key for another request (a coupon command or a
/// distribution) is refused.
/// </summary>
public interface IIdempotencyGrain : IGrainWithStringKey
{
    Task<IdempotentOutcome> ExecuteAsync(CouponCommand command, string path, byte[] requestHash, string? traceId);

    /// <summary>Starts a pool's distribution once (not a dry run): a repeat answers the first job or the first refusal.</summary>
    Task<IdempotentDistribution> DistributeAsync(Guid poolId, Pools.DistributionSpec spec, Guid actorId, string path, byte[] requestHash, string? traceId);
}

/// <summary>The outcome of a keyed command, with the trace id of the request that first produced it.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.IdempotentOutcome")]
public sealed record IdempotentOutcome(
    [property: Id(0)] Outcome<CouponView> Outcome,
    [property: Id(1)] string? TraceId,
    [property: Id(2)] bool Replayed);

/// <summary>The outcome of a keyed distribution, with the trace id of the request that first produced it.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.IdempotentDistribution")]
public sealed record IdempotentDistribution(
    [property: Id(0)] Outcome<Pools.DistributionStart> Outcome,
    [property: Id(1)] string? TraceId);
