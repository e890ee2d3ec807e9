using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using CouponBooks.Api.Auth;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CouponBooks.Api.Http;

/// <summary>A token bucket: up to <see cref="TokenLimit"/> requests at once, refilled by <see cref="TokensPerPeriod"/> every <see cref="ReplenishmentPeriod"/>.</summary>
public sealed class TokenBucketLimit
{
    public int TokenLimit { get; set; }

    public int TokensPerPeriod { get; set; }

    public TimeSpan ReplenishmentPeriod { get; set; }

    internal bool IsValid => TokenLimit >= 1 && TokensPerPeriod >= 1 && ReplenishmentPeriod >= TimeSpan.FromMilliseconds(1);

    internal TokenBucketRateLimiterOptions ToOptions() => new()
    {
        TokenLimit = TokenLimit,
        TokensPerPeriod = TokensPerPeriod,
        ReplenishmentPeriod = ReplenishmentPeriod,
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}

/// <summary>Refuses a user's misses on coupon codes (404 for a code that is not theirs) once <see cref="MaxMisses"/> fell within <see cref="Window"/>.</summary>
public sealed class CouponMissLimit
{
    public int MaxMisses { get; set; }

    public TimeSpan Window { get; set; }
}

/// <summary>
/// Request limits (configuration section <c>RateLimits</c>). The defaults let a person, and the bursts of a busy client,
/// through untouched and stop scripted abuse. Each Api process counts on its own.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Assign, lock, unlock and redeem, per USER (the token's subject).</summary>
    public TokenBucketLimit CouponCommands { get; set; } = new() { TokenLimit = 1000, TokensPerPeriod = 100, ReplenishmentPeriod = TimeSpan.FromSeconds(1) };

    /// <summary>The same commands per ADMIN: a checkout system acting for many owners sends far more than a person.</summary>
    public TokenBucketLimit AdminCouponCommands { get; set; } = new() { TokenLimit = 10_000, TokensPerPeriod = 2000, ReplenishmentPeriod = TimeSpan.FromSeconds(1) };

    /// <summary>Register and log in, per client IP address (an IPv6 client by its /64 network).</summary>
    public TokenBucketLimit SignIn { get; set; } = new() { TokenLimit = 1000, TokensPerPeriod = 600, ReplenishmentPeriod = TimeSpan.FromMinutes(1) };

    /// <summary>Misses on coupon codes per USER (admins see every coupon anyway and are not counted).</summary>
    public CouponMissLimit CouponMisses { get; set; } = new() { MaxMisses = 1000, Window = TimeSpan.FromMinutes(15) };
}

/// <summary>Per-user limits on coupon commands and per-IP limits on register and login, answered as 429 <c>rate-limited</c> with <c>Retry-After</c>.</summary>
public static class RateLimits
{
    public const string CouponCommandsPolicy = "coupon-commands";
    public const string SignInPolicy = "sign-in";

    public static IServiceCollection AddApiRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>()
            .Bind(configuration.GetSection(RateLimitOptions.Section))
            .Validate(o => o.CouponCommands.IsValid, "RateLimits:CouponCommands needs TokenLimit and TokensPerPeriod of at least 1 and a positive ReplenishmentPeriod.")
            .Validate(o => o.AdminCouponCommands.IsValid, "RateLimits:AdminCouponCommands needs TokenLimit and TokensPerPeriod of at least 1 and a positive ReplenishmentPeriod.")
            .Validate(o => o.SignIn.IsValid, "RateLimits:SignIn needs TokenLimit and TokensPerPeriod of at least 1 and a positive ReplenishmentPeriod.")
            .Validate(o => o.CouponMisses.MaxMisses >= 1 && o.CouponMisses.Window > TimeSpan.Zero, "RateLimits:CouponMisses needs MaxMisses of at least 1 and a positive Window.")
            .ValidateOnStart();

        services.AddSingleton(sp => new CouponMisses(sp.GetRequiredService<IOptions<RateLimitOptions>>(), TimeProvider.System));
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = (context, _) => RejectAsync(context);
            options.AddPolicy<(Guid, bool), CouponCommandsLimiter>(CouponCommandsPolicy);
            options.AddPolicy<string, SignInLimiter>(SignInPolicy);
        });
        return services;
    }

    private static async ValueTask RejectAsync(OnRejectedContext context)
    {
        var http = context.HttpContext;
        if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            ApiProblems.SetRetryAfter(http, retryAfter);
        }
        else
        {
            // The bucket cannot say when: one refill period is the honest lower bound.
            var limits = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
            ApiProblems.SetRetryAfter(http, http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName == SignInPolicy
                ? limits.SignIn.ReplenishmentPeriod
                : limits.CouponCommands.ReplenishmentPeriod);
        }

        await ApiProblems.Problem(ErrorCode.RateLimited, "Too many requests; try again after the time in Retry-After.").ExecuteAsync(http);
    }

    /// <summary>The partition of a client address: IPv4 as is, IPv6 by its /64 network (one subscriber's prefix).</summary>
    public static string ClientNetwork(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        byte[] bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    private sealed class CouponCommandsLimiter(IOptions<RateLimitOptions> options) : IRateLimiterPolicy<(Guid, bool)>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

        public RateLimitPartition<(Guid, bool)> GetPartition(HttpContext httpContext)
        {
            // The endpoints require a token, and authorization runs before the limiter: there is always a caller.
            if (Caller.TryFrom(httpContext.User) is not { } caller)
            {
                return RateLimitPartition.GetNoLimiter((Guid.Empty, false));
            }

            var limit = caller.IsAdmin ? options.Value.AdminCouponCommands : options.Value.CouponCommands;
            return RateLimitPartition.GetTokenBucketLimiter((caller.UserId, caller.IsAdmin), _ => limit.ToOptions());
        }
    }

    private sealed class SignInLimiter(IOptions<RateLimitOptions> options) : IRateLimiterPolicy<string>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

        // A request with no client address (an in-process host, a Unix-socket proxy that forwards none) is not counted:
        // every such client would share one budget, and one could use it up for all.
        public RateLimitPartition<string> GetPartition(HttpContext httpContext) => httpContext.Connection.RemoteIpAddress is { } address
            ? RateLimitPartition.GetTokenBucketLimiter(ClientNetwork(address), _ => options.Value.SignIn.ToOptions())
            : RateLimitPartition.GetNoLimiter(string.Empty);
    }
}
