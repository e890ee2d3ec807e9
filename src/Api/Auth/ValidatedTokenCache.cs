using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CouponBooks.Api.Auth;

/// <summary>
/// Validates access tokens with <see cref="JsonWebTokenHandler"/> and remembers the ones that passed until they
/// expire, so a client sending the same token with every request pays for parsing it and checking its signature
/// once, not on every request (a quarter of the API's CPU per coupon command went there). Only valid tokens are kept;
/// a cached token stops being accepted at its expiry (plus the allowed clock skew) exactly as a fresh validation would
/// refuse it. Each hit gets its own copy of the token's identity. JwtBearer asks <see cref="TryGetValid"/> first
/// (JwtBearerEvents.OnMessageReceived) and validates through this handler only what it did not know; disabled users are
/// refused on both paths (AuthSetup).
/// </summary>
internal sealed class ValidatedTokenCache : TokenHandler
{
    public const int DefaultMaxEntries = 20_000;

    private const string BearerPrefix = "Bearer ";

    private readonly JsonWebTokenHandler _inner;
    private readonly TimeProvider _clock;
    private readonly int _maxEntries;

    private readonly ConcurrentDictionary<string, Entry> _valid;
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _validBySpan;
    private long _hits;

    public ValidatedTokenCache(JsonWebTokenHandler inner, TimeProvider clock, int maxEntries = DefaultMaxEntries)
    {
        _inner = inner;
        _clock = clock;
        _maxEntries = maxEntries;
        _valid = new(StringComparer.Ordinal);
        _validBySpan = _valid.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _valid.Count;

    /// <summary>Validations answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>The token of an <c>Authorization: Bearer</c> header, without copying it; empty when there is none.</summary>
    public static ReadOnlySpan<char> BearerToken(string? authorization) =>
        authorization is not null && authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? authorization.AsSpan(BearerPrefix.Length).Trim()
            : [];

    /// <summary>
    /// A copy of the identity of <paramref name="token"/> when it passed validation before and has not run out since
    /// (at its expiry plus the allowed clock skew); no work beyond the lookup and the copy.
    /// </summary>
    public bool TryGetValid(ReadOnlySpan<char> token, [NotNullWhen(true)] out ClaimsIdentity? identity)
    {
        if (_validBySpan.TryGetValue(token, out var hit) && _clock.GetUtcNow().UtcDateTime < hit.AcceptedUntil)
        {
            Interlocked.Increment(ref _hits);
            identity = hit.Result.ClaimsIdentity.Clone();
            return true;
        }

        identity = null;
        return false;
    }

    /// <summary>
    /// A full validation (the handler's path for a token <see cref="TryGetValid"/> did not know): a valid token is
    /// remembered until its expiry plus the allowed clock skew, an invalid one forgotten.
    /// </summary>
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var result = await _inner.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is { } validated && validated.ValidTo != DateTime.MinValue)
        {
            Remember(token, new Entry(result, validated.ValidTo + validationParameters.ClockSkew), _clock.GetUtcNow().UtcDateTime);
        }
        else
        {
            _valid.TryRemove(token, out _);
        }

        return result;
    }

    public override SecurityToken ReadToken(string token) => _inner.ReadToken(token);

    private void Remember(string token, Entry entry, DateTime now)
    {
        if (_valid.Count >= _maxEntries)
        {
            foreach (var (key, old) in _valid)
            {
                if (old.AcceptedUntil <= now)
                {
                    _valid.TryRemove(KeyValuePair.Create(key, old));
                }
            }

            if (_valid.Count >= _maxEntries)
            {
                _valid.Clear();
            }
        }

        _valid[token] = entry;
    }

    private sealed record Entry(TokenValidationResult Result, DateTime AcceptedUntil);
}
