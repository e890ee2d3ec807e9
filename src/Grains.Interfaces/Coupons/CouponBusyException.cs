namespace CouponBooks.Coupons;

/// <summary>
/// A change to a coupon was not made because its row kept moving on under the grain (another writer got there first
/// on every attempt: the lock sweep, an activation elsewhere after a silo failure). Nothing was changed, and the same
/// request may well succeed when sent again.
/// </summary>
[GenerateSerializer, Alias("CouponBooks.CouponBusyException")]
public sealed class CouponBusyException : Exception
{
    public CouponBusyException()
    {
    }

    public CouponBusyException(string message)
        : base(message)
    {
    }

    public CouponBusyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
