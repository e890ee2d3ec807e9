using System.Security.Claims;
using CouponBooks.Api.Auth;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CouponBooks.Tests.Auth;

public sealed class ValidatedTokenCacheTests
{
    private static readonly SymmetricSecurityKey Key = new(new byte[32] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 });
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_valid_token_is_checked_once_and_each_request_gets_its_own_identity()
    {
        var cache = new ValidatedTokenCache(new JsonWebTokenHandler { MapInboundClaims = false }, _clock);
        string token = Token(_clock.GetUtcNow().AddMinutes(15), Key);
        Assert.False(cache.TryGetValid(token, out _));

        Assert.True((await cache.ValidateTokenAsync(token, Parameters())).IsValid);
        Assert.True(cache.TryGetValid(ValidatedTokenCache.BearerToken($"Bearer {token}"), out var first));
        Assert.True(cache.TryGetValid(token, out var second));

        Assert.Equal(1, cache.Count);
        Assert.Equal(2, cache.Hits);
        Assert.NotSame(first, second);
        Assert.Equal("user-1", second.FindFirst("sub")?.Value);
        Assert.Equal("USER", second.FindFirst("role")?.Value);
    }

    [Fact]
    public async Task A_cached_token_is_refused_once_it_expired_like_a_fresh_one()
    {
        var cache = new ValidatedTokenCache(new JsonWebTokenHandler { MapInboundClaims = false }, _clock);
        string token = Token(_clock.GetUtcNow().AddMinutes(15), Key);
        var parameters = Parameters();
        Assert.True((await cache.ValidateTokenAsync(token, parameters)).IsValid);

        _clock.Advance(TimeSpan.FromMinutes(15) + parameters.ClockSkew - TimeSpan.FromSeconds(1));
        Assert.True(cache.TryGetValid(token, out _));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(cache.TryGetValid(token, out _));

        // The handler then validates it afresh: refused, and forgotten.
        Assert.False((await cache.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task A_token_that_fails_is_never_remembered()
    {
        var cache = new ValidatedTokenCache(new JsonWebTokenHandler { MapInboundClaims = false }, _clock);
        var otherKey = new SymmetricSecurityKey(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
        string forged = Token(_clock.GetUtcNow().AddMinutes(15), otherKey);

        Assert.False((await cache.ValidateTokenAsync(forged, Parameters())).IsValid);
        Assert.False(cache.TryGetValid(forged, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Only_a_bearer_header_names_a_token()
    {
        Assert.Equal("abc.def", ValidatedTokenCache.BearerToken("Bearer abc.def ").ToString());
        Assert.Equal("abc.def", ValidatedTokenCache.BearerToken("bearer abc.def").ToString());
        Assert.True(ValidatedTokenCache.BearerToken("Basic dXNlcjpwYXNz").IsEmpty);
        Assert.True(ValidatedTokenCache.BearerToken(null).IsEmpty);
    }

    [Fact]
    public async Task The_cache_stays_within_its_size()
    {
        var cache = new ValidatedTokenCache(new JsonWebTokenHandler { MapInboundClaims = false }, _clock, maxEntries: 3);
        var parameters = Parameters();
        for (int i = 0; i < 7; i++)
        {
            Assert.True((await cache.ValidateTokenAsync(Token(_clock.GetUtcNow().AddMinutes(15 + i), Key), parameters)).IsValid);
            Assert.InRange(cache.Count, 1, 3);
        }
    }

    private TokenValidationParameters Parameters() => new()
    {
        ValidIssuer = "couponbooks",
        ValidAudience = "couponbooks-api",
        IssuerSigningKey = Key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.FromSeconds(30),
        // Lifetime as the test's clock sees it, so the inner handler and the cache agree on "now".
        LifetimeValidator = (_, expires, _, p) => expires is { } e && _clock.GetUtcNow().UtcDateTime < e + p.ClockSkew,
    };

    private string Token(DateTimeOffset expires, SecurityKey key) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "couponbooks",
        Audience = "couponbooks-api",
        Subject = new ClaimsIdentity([new Claim("sub", "user-1"), new Claim("role", "USER")]),
        IssuedAt = _clock.GetUtcNow().UtcDateTime,
        NotBefore = _clock.GetUtcNow().UtcDateTime,
        Expires = expires.UtcDateTime,
        SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
    });
}
