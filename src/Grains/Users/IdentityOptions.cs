namespace CouponBooks.Users;

/// <summary>Password hashing, lockout and refresh-token settings (configuration section <c>Identity</c>).</summary>
public sealed class IdentityOptions
{
    public const string Section = "Identity";

    /// <summary>bcrypt cost; each step doubles the time of a hash.</summary>
    public int BcryptWorkFactor { get; set; } = 11;

    public int LockoutMaxFailedAttempts { get; set; } = 5;

    public TimeSpan LockoutWindow { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Sign-ins (token families) kept per user; the oldest is dropped beyond this.</summary>
    public int MaxRefreshTokenFamilies { get; set; } = 10;
}

/// <summary>The administrator created at start when missing (configuration section <c>Admin</c>).</summary>
public sealed class AdminBootstrapOptions
{
    public const string Section = "Admin";

    /// <summary>The password appsettings.Development.json gives; refused in any other environment.</summary>
    public const string DevelopmentPassword = "admin-dev-password";

    public string? Email { get; set; }

    public string? Password { get; set; }
}
