namespace CouponBooks.Coupons;

/// <summary>A coupon's state as stored: 0..3 in the coupons table.</summary>
public enum CouponState
{
    Unassigned = 0,
    Assigned = 1,
    Locked = 2,
    Redeemed = 3,
}

/// <summary>A coupon as the REST contract shows it; a run-out lock already reads as ASSIGNED.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.CouponView")]
public sealed record CouponView(
    [property: Id(0)] string Code,
    [property: Id(1)] Guid BookId,
    [property: Id(2)] CouponState State,
    [property: Id(3)] Guid? UserId,
    [property: Id(4)] DateTimeOffset? AssignedAt,
    [property: Id(5)] DateTimeOffset? LockedUntil,
    [property: Id(6)] int RedemptionCount,
    [property: Id(7)] DateTimeOffset? RedeemedAt);

/// <summary>Which coupons a listing wants; null members do not filter.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.CouponQuery")]
public sealed record CouponQuery(
    [property: Id(0)] Guid? BookId,
    [property: Id(1)] Guid? UserId,
    [property: Id(2)] CouponState? State,
    [property: Id(3)] string? AfterCode,
    [property: Id(4)] int Limit);

[GenerateSerializer, Immutable, Alias("CouponBooks.CouponPage")]
public sealed record CouponPage(
    [property: Id(0)] IReadOnlyList<CouponView> Items,
    [property: Id(1)] string? NextCode);

/// <summary>Listings of coupons, read from the coupons table. Stateless.</summary>
public interface ICouponDirectoryGrain : IGrainWithIntegerKey
{
    Task<CouponPage> ListAsync(CouponQuery query);
}
