using System.Buffers.Text;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>Builds access tokens the way an attacker might: unsigned, signed with another key, expired, for another audience.</summary>
public static class TestTokens
{
    public static string Sign(Guid userId, string role, string key = ApiFixture.JwtKey, string issuer = ApiFixture.JwtIssuer,
        string audience = ApiFixture.JwtAudience, DateTime? expires = null, DateTime? notBefore = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = notBefore ?? now,
            NotBefore = notBefore ?? now,
            Expires = expires ?? now.AddMinutes(5),
            Subject = new ClaimsIdentity([new Claim("sub", userId.ToString()), new Claim("role", role)]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>A token with <c>alg: none</c> and no signature.</summary>
    public static string Unsigned(Guid userId, string role)
    {
        long exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        string header = Encode("""{"alg":"none","typ":"JWT"}""");
        string payload = Encode($$"""{"sub":"{{userId}}","role":"{{role}}","iss":"{{ApiFixture.JwtIssuer}}","aud":"{{ApiFixture.JwtAudience}}","exp":{{exp}}}""");
        return $"{header}.{payload}.";
    }

    public static JsonElement ReadPayload(string jwt) => Decode(jwt.Split('.')[1]);

    public static JsonElement ReadHeader(string jwt) => Decode(jwt.Split('.')[0]);

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    private static JsonElement Decode(string part) => JsonDocument.Parse(Base64Url.DecodeFromChars(part)).RootElement;
}
