using System.Text;

namespace CouponBooks.Api.Auth;

/// <summary>Access-token settings (configuration section <c>Jwt</c>).</summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>Used only in Development when no key is configured; any other environment refuses to start with it.</summary>
    public const string DevelopmentKey = "couponbooks-development-signing-key-not-for-production";

    public string? Key { get; set; }

    public string Issuer { get; set; } = "couponbooks";

    public string Audience { get; set; } = "couponbooks-api";

    public int AccessTokenMinutes { get; set; } = 15;

    public byte[] KeyBytes => Encoding.UTF8.GetBytes(Key ?? string.Empty);
}
