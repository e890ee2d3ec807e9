using System.ComponentModel.DataAnnotations;
using CouponBooks.Coupons;

namespace CouponBooks.Api.Coupons;

/// <summary>A coupon as the REST contract shows it.</summary>
public sealed record CouponResponse(
    string Code, Guid BookId, [property: AllowedValues("UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED")] string State, Guid? UserId, DateTimeOffset? AssignedAt, DateTimeOffset? LockedUntil, int RedemptionCount, DateTimeOffset? RedeemedAt)
{
    public static CouponResponse From(CouponView coupon) => new(
        coupon.Code, coupon.BookId, StateName(coupon.State), coupon.UserId, coupon.AssignedAt, coupon.LockedUntil, coupon.RedemptionCount, coupon.RedeemedAt);

    public static string StateName(CouponState state) => state switch
    {
        CouponState.Unassigned => "UNASSIGNED",
        CouponState.Assigned => "ASSIGNED",
        CouponState.Locked => "LOCKED",
        _ => "REDEEMED",
    };

    public static bool TryParseState(string? value, out CouponState? state)
    {
        state = value?.ToUpperInvariant() switch
        {
            null => null,
            "UNASSIGNED" => CouponState.Unassigned,
            "ASSIGNED" => CouponState.Assigned,
            "LOCKED" => CouponState.Locked,
            "REDEEMED" => CouponState.Redeemed,
            _ => (CouponState)(-1),
        };
        return state is null || Enum.IsDefined(state.Value);
    }
}
