using System.Collections.Concurrent;
using CouponBooks.Api.Auth;
using Microsoft.Extensions.Options;

namespace CouponBooks.Api.Http;

/// <summary>
/// Counts, per user, the requests on coupon codes that missed (404: no such code, or not the caller's). Once a user
/// has missed <c>MaxMisses</c> times within <c>Window</c>, further misses are refused until the oldest counted miss
/// leaves the window. Only misses count and only the guessing user is refused: the owner of a guessed code, and the
/// guesser's own coupons, are served as always.
/// </summary>
public sealed class CouponMisses(IOptions<RateLimitOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, Queue<DateTimeOffset>> _misses = new();
    private long _lastSweepTicks = clock.GetUtcNow().UtcTicks;

    /// <summary>Records a miss; answers how long the user must wait when this miss is one too many, else null.</summary>
    public TimeSpan? Record(Guid userId)
    {
        var limit = options.Value.CouponMisses;
        var now = clock.GetUtcNow();
        SweepIdle(now, limit.Window);
        while (true)
        {
            var misses = _misses.GetOrAdd(userId, _ => new Queue<DateTimeOffset>());
            lock (misses)
            {
                if (!_misses.TryGetValue(userId, out var current) || !ReferenceEquals(current, misses))
                {
                    continue; // swept away meanwhile: count on the user's new queue
                }

                return Count(misses, now, limit);
            }
        }
    }

    private static TimeSpan? Count(Queue<DateTimeOffset> misses, DateTimeOffset now, CouponMissLimit limit)
    {
        Forget(misses, now, limit.Window);
        bool refused = misses.Count >= limit.MaxMisses;
        // Refused misses count too (the most recent MaxMisses are kept), so a guesser who keeps on stays refused.
        while (misses.Count >= limit.MaxMisses)
        {
            misses.Dequeue();
        }

        misses.Enqueue(now);
        return refused ? misses.Peek() + limit.Window - now : null;
    }

    private static void Forget(Queue<DateTimeOffset> misses, DateTimeOffset now, TimeSpan window)
    {
        while (misses.Count > 0 && misses.Peek() <= now - window)
        {
            misses.Dequeue();
        }
    }

    /// <summary>Drops the users whose misses all left the window, at most once a window, so memory follows the active guessers.</summary>
    private void SweepIdle(DateTimeOffset now, TimeSpan window)
    {
        long last = Interlocked.Read(ref _lastSweepTicks);
        if (now.UtcTicks - last < window.Ticks || Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (userId, misses) in _misses)
        {
            lock (misses)
            {
                Forget(misses, now, window);
                if (misses.Count == 0)
                {
                    _misses.TryRemove(KeyValuePair.Create(userId, misses));
                }
            }
        }
    }
}

/// <summary>Turns a USER's miss on a coupon code into 429 <c>rate-limited</c> once <see cref="CouponMisses"/> says it is one too many.</summary>
internal sealed class CouponGuessingFilter(CouponMisses misses) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        object? result = await next(context);
        var http = context.HttpContext;
        if (result is IStatusCodeHttpResult { StatusCode: StatusCodes.Status404NotFound }
            && Caller.TryFrom(http.User) is { IsAdmin: false } caller
            && misses.Record(caller.UserId) is { } retryAfter)
        {
            ApiProblems.SetRetryAfter(http, retryAfter);
            return ApiProblems.Problem(ErrorCode.RateLimited, "Too many requests for coupon codes that are not yours; try again after the time in Retry-After.");
        }

        return result;
    }
}
