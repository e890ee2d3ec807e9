namespace CouponBooks.Users;

/// <summary>A user's security state, read only by key: kept in Orleans grain storage.</summary>
public sealed class UserSecurityState
{
    /// <summary>Failed sign-ins inside the lockout window.</summary>
    public List<DateTimeOffset> RecentFailures { get; set; } = [];

    public DateTimeOffset? LockedUntil { get; set; }

    /// <summary>One entry per sign-in; each refresh moves its generation on.</summary>
    public List<RefreshTokenFamily> RefreshFamilies { get; set; } = [];
}

/// <summary>
/// The tokens rotated from one sign-in. Token n carries HMAC(Key, n); only the newest generation is accepted,
/// and presenting an older genuine one means the family leaked, so the family is revoked.
/// </summary>
public sealed class RefreshTokenFamily
{
    public Guid Id { get; set; }

    public byte[] Key { get; set; } = [];

    public int Generation { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
