using System.Diagnostics.Metrics;
using CouponBooks.Api.Http;
using CouponBooks.Coupons;

namespace CouponBooks.Api.Hosting;

/// <summary>
/// The Api's own instruments (meter <see cref="MeterName"/>), exported at <c>GET /metrics</c>: coupon commands as
/// answered (a replayed <c>Idempotency-Key</c> is counted as a replay, not again), and every problem response by its
/// code. Counters only, recorded without locks or allocations beyond their tags.
/// </summary>
public static class ApiMetrics
{
    public const string MeterName = "CouponBooks.Api";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Assignments = Meter.CreateCounter<long>(
        "couponbooks.api.assignments", "{coupon}", "Coupons assigned through the Api, by mode (random, code).");

    private static readonly Counter<long> Locks = Meter.CreateCounter<long>(
        "couponbooks.api.locks", "{coupon}", "Coupons locked through the Api.");

    private static readonly Counter<long> Unlocks = Meter.CreateCounter<long>(
        "couponbooks.api.unlocks", "{coupon}", "Coupons unlocked through the Api.");

    private static readonly Counter<long> Redemptions = Meter.CreateCounter<long>(
        "couponbooks.api.redemptions", "{coupon}", "Coupons redeemed through the Api.");

    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>(
        "couponbooks.api.refusals", "{request}", "Coupon commands refused, by operation (assign, lock, unlock, redeem) and error code.");

    private static readonly Counter<long> Replays = Meter.CreateCounter<long>(
        "couponbooks.api.idempotent_replays", "{request}", "Coupon commands answered from a stored Idempotency-Key (nothing changed), by operation.");

    private static readonly Counter<long> Problems = Meter.CreateCounter<long>(
        "couponbooks.api.problems", "{response}", "Problem responses (application/problem+json) sent, by error code.");

    /// <summary>Counts a coupon command's answer: a change made, a refusal, or a replay of an earlier answer.</summary>
    public static void CouponCommandAnswered(CouponCommandKind kind, Outcome<CouponView> outcome, bool replayed)
    {
        var operation = new KeyValuePair<string, object?>("operation", Operation(kind));
        if (replayed)
        {
            Replays.Add(1, operation);
        }
        else if (outcome.Refusal is { } refusal)
        {
            Refusals.Add(1, operation, new KeyValuePair<string, object?>("code", ApiProblems.Slug(refusal.Code)));
        }
        else
        {
            switch (kind)
            {
                case CouponCommandKind.AssignRandom:
                    Assignments.Add(1, new KeyValuePair<string, object?>("mode", "random"));
                    break;
                case CouponCommandKind.AssignCode:
                    Assignments.Add(1, new KeyValuePair<string, object?>("mode", "code"));
                    break;
                case CouponCommandKind.Lock:
                    Locks.Add(1);
                    break;
                case CouponCommandKind.Unlock:
                    Unlocks.Add(1);
                    break;
                case CouponCommandKind.Redeem:
                    Redemptions.Add(1);
                    break;
            }
        }
    }

    /// <summary>Counts a problem response by its <c>code</c> member.</summary>
    public static void ProblemSent(string? code) => Problems.Add(1, new KeyValuePair<string, object?>("code", code ?? "none"));

    private static string Operation(CouponCommandKind kind) => kind switch
    {
        CouponCommandKind.AssignRandom or CouponCommandKind.AssignCode => "assign",
        CouponCommandKind.Lock => "lock",
        CouponCommandKind.Unlock => "unlock",
        _ => "redeem",
    };
}
