using System.Diagnostics.Metrics;
using CouponBooks.Coupons;
using CouponBooks.Jobs;

namespace CouponBooks.Hosting;

/// <summary>
/// The silo's own instruments (meter <see cref="MeterName"/>): coupon transitions as written, the batched coupon
/// writer's round trips, and long jobs. Counters per change (no allocation beyond their tags) and histograms once
/// per batch; a silo exports them when its scrape endpoint is on (<c>Metrics:Port</c>).
/// </summary>
public static class SiloMetrics
{
    public const string MeterName = "CouponBooks.Silo";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Transitions = Meter.CreateCounter<long>(
        "couponbooks.coupon.transitions", "{transition}", "Coupon transitions written (history rows), by action: assign, lock, unlock, redeem, expire.");

    private static readonly Histogram<double> BatchDuration = Meter.CreateHistogram(
        "couponbooks.storage.batch.duration", "s", "Round trip of one batch of the coupon writer (one statement, one commit).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });

    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram(
        "couponbooks.storage.batch.size", "{change}", "Changes (coupon writes and idempotency keys) in one batch of the coupon writer.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });

    private static readonly Counter<long> BatchFailures = Meter.CreateCounter<long>(
        "couponbooks.storage.batch.failures", "{batch}", "Batches of the coupon writer that failed (every change in them failed).");

    private static readonly Counter<long> WriteConflicts = Meter.CreateCounter<long>(
        "couponbooks.storage.write.conflicts", "{change}", "Coupon writes whose row had moved past the version read (the grain reads it again and decides again).");

    private static readonly Counter<long> JobsStarted = Meter.CreateCounter<long>(
        "couponbooks.jobs.started", "{job}", "Job runs started on this silo (a resumed job counts again), by kind.");

    private static readonly Counter<long> JobsFinished = Meter.CreateCounter<long>(
        "couponbooks.jobs.finished", "{job}", "Jobs finished on this silo, by kind and state (succeeded, failed).");

    private static readonly UpDownCounter<long> JobsRunning = Meter.CreateUpDownCounter<long>(
        "couponbooks.jobs.running", "{job}", "Jobs running on this silo now, by kind.");

    private static readonly Counter<long> JobItems = Meter.CreateCounter<long>(
        "couponbooks.jobs.processed", "{item}", "Items jobs worked through (codes written, lines imported, coupons given), by kind.");

    /// <summary>Counts the transitions one written change recorded.</summary>
    public static void Written(IReadOnlyList<HistoryEntry> history)
    {
        for (int i = 0; i < history.Count; i++)
        {
            Transitions.Add(1, new KeyValuePair<string, object?>("action", ActionTag(history[i].Action)));
        }
    }

    public static void Transitioned(CouponAction action, long count)
    {
        if (count > 0)
        {
            Transitions.Add(count, new KeyValuePair<string, object?>("action", ActionTag(action)));
        }
    }

    public static void BatchWritten(int changes, int conflicts, TimeSpan elapsed)
    {
        BatchDuration.Record(elapsed.TotalSeconds);
        BatchSize.Record(changes);
        if (conflicts > 0)
        {
            WriteConflicts.Add(conflicts);
        }
    }

    public static void BatchFailed(int changes, TimeSpan elapsed)
    {
        BatchDuration.Record(elapsed.TotalSeconds);
        BatchSize.Record(changes);
        BatchFailures.Add(1);
    }

    public static void JobStarted(JobKind kind)
    {
        var tag = KindTag(kind);
        JobsStarted.Add(1, tag);
        JobsRunning.Add(1, tag);
    }

    /// <summary>A run ended: finished in <paramref name="state"/>, or interrupted (null) to resume elsewhere.</summary>
    public static void JobEnded(JobKind kind, JobState? state)
    {
        var tag = KindTag(kind);
        JobsRunning.Add(-1, tag);
        if (state is { } finished)
        {
            JobsFinished.Add(1, tag, new KeyValuePair<string, object?>("state", finished == JobState.Succeeded ? "succeeded" : "failed"));
        }
    }

    public static void JobProgressed(JobKind kind, long items)
    {
        if (items > 0)
        {
            JobItems.Add(items, KindTag(kind));
        }
    }

    /// <summary>The kind as GET /api/v1/jobs/{id} names it.</summary>
    private static KeyValuePair<string, object?> KindTag(JobKind kind) => new("kind", kind switch
    {
        JobKind.GenerateCodes => "generate-codes",
        JobKind.ImportCodes => "import-codes",
        _ => "distribution",
    });

    /// <summary>The action as a coupon's history names it.</summary>
    private static string ActionTag(CouponAction action) => action switch
    {
        CouponAction.Assign => "assign",
        CouponAction.Lock => "lock",
        CouponAction.Unlock => "unlock",
        CouponAction.Redeem => "redeem",
        CouponAction.Expire => "expire",
        _ => "other",
    };
}
