using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CouponBooks.Load;

/// <summary>
/// Mints access tokens as src/Api/Auth/AccessTokenIssuer.cs does (HS256; <c>sub</c> the user id, <c>role</c> USER or
/// ADMIN; the Development issuer, audience and key), so each simulated user calls with its own token.
/// </summary>
public sealed class Tokens(string key, string issuer, string audience)
{
    public const string DevelopmentKey = "couponbooks-development-signing-key-not-for-production";

    private readonly byte[] _key = Encoding.UTF8.GetBytes(key);

    public static Tokens Development() => new(DevelopmentKey, "couponbooks", "couponbooks-api");

    /// <summary>The Authorization header value for a user, valid for <paramref name="lifetime"/>.</summary>
    public string Bearer(Guid userId, string role, TimeSpan lifetime)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Encode("""{"alg":"HS256","typ":"JWT"}"""u8);
        string payload = Encode(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["sub"] = userId.ToString(),
            ["role"] = role,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iss"] = issuer,
            ["aud"] = audience,
            ["iat"] = now,
            ["nbf"] = now - 60,
            ["exp"] = now + (long)lifetime.TotalSeconds,
        }));
        string signed = header + "." + payload;
        string signature = Encode(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(signed)));
        return "Bearer " + signed + "." + signature;
    }

    private static string Encode(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);
}
