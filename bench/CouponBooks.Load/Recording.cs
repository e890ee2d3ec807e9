using System.Diagnostics;

namespace CouponBooks.Load;

/// <summary>The requests the scenarios send.</summary>
public enum Op
{
    Lock,
    Unlock,
    Redeem,
    Get,
    Assign,
}

/// <summary>The measured part of a run, in <see cref="Stopwatch"/> timestamps: what completes (or is scheduled) in it counts.</summary>
public sealed record Window(long Start, long End)
{
    public double Seconds => (End - Start) / (double)Stopwatch.Frequency;

    public bool Contains(long timestamp) => timestamp >= Start && timestamp < End;

    public static Window After(long origin, TimeSpan warmup, TimeSpan duration) =>
        new(origin + Ticks(warmup), origin + Ticks(warmup + duration));

    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}

/// <summary>
/// What one worker (or, <paramref name="shared"/>, the concurrent jobs of an open loop) saw: every status of every request (all of them, and those in the window) and the latency of each
/// request in the window, in microseconds, kept whole and sorted at the end rather than bucketed.
/// </summary>
public sealed class Log(bool shared = false)
{
    public const int Statuses = 600;
    private static readonly int OpCount = Enum.GetValues<Op>().Length;

    private readonly List<int>[] _latencies = Enumerable.Range(0, OpCount).Select(_ => new List<int>(4096)).ToArray();
    private readonly long[] _all = new long[OpCount * Statuses];
    private readonly long[] _windowed = new long[OpCount * Statuses];
    private readonly Dictionary<int, int> _slowestBySecond = [];

    /// <summary>A request that took from <paramref name="start"/> to <paramref name="end"/>; it is in the window when <paramref name="at"/> is.</summary>
    public void Record(Op op, int status, long start, long end, Window window, long at)
    {
        if (shared)
        {
            lock (_all)
            {
                Add(op, status, start, end, window, at);
            }
        }
        else
        {
            Add(op, status, start, end, window, at);
        }
    }

    private void Add(Op op, int status, long start, long end, Window window, long at)
    {
        int slot = (int)op * Statuses + Math.Clamp(status, 0, Statuses - 1);
        _all[slot]++;
        if (window.Contains(at))
        {
            _windowed[slot]++;
            int micros = (int)Math.Min(int.MaxValue, (end - start) * 1_000_000 / Stopwatch.Frequency);
            _latencies[(int)op].Add(micros);
            int second = (int)((at - window.Start) / Stopwatch.Frequency);
            _slowestBySecond[second] = Math.Max(micros, _slowestBySecond.GetValueOrDefault(second));
        }
    }

    public static Outcome Merge(IEnumerable<Log> logs, Window window)
    {
        var all = new long[OpCount * Statuses];
        var windowed = new long[OpCount * Statuses];
        var latencies = Enumerable.Range(0, OpCount).Select(_ => new List<int>()).ToArray();
        var slowest = new Dictionary<int, int>();
        foreach (var log in logs)
        {
            foreach (var (second, micros) in log._slowestBySecond)
            {
                slowest[second] = Math.Max(micros, slowest.GetValueOrDefault(second));
            }

            for (int i = 0; i < all.Length; i++)
            {
                all[i] += log._all[i];
                windowed[i] += log._windowed[i];
            }

            for (int op = 0; op < OpCount; op++)
            {
                latencies[op].AddRange(log._latencies[op]);
            }
        }

        var sorted = latencies.Select(l =>
        {
            var array = l.ToArray();
            Array.Sort(array);
            return array;
        }).ToArray();
        return new Outcome(all, windowed, sorted, window, slowest);
    }
}

/// <summary>The merged record of a run.</summary>
public sealed class Outcome(long[] all, long[] windowed, int[][] latencies, Window window, IReadOnlyDictionary<int, int> slowestBySecond)
{
    public Window Window => window;

    /// <summary>The slowest request of each second of the window (by the moment it was due), in ms: shows whether a tail comes from a few stalls or from all along.</summary>
    public string SlowestBySecond() =>
        string.Join(' ', SlowestMillisBySecond().Select(ms => ms.ToString("0", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>The same, as numbers, in the order of the seconds.</summary>
    public IReadOnlyList<double> SlowestMillisBySecond() => slowestBySecond.OrderBy(s => s.Key).Select(s => s.Value / 1000.0).ToList();

    /// <summary>Requests of <paramref name="op"/> answered <paramref name="status"/> (0: no answer), over the whole run.</summary>
    public long Total(Op op, int status) => all[(int)op * Log.Statuses + status];

    public long TotalOf(Op op) => Enumerable.Range(0, Log.Statuses).Sum(s => all[(int)op * Log.Statuses + s]);

    /// <summary>Requests in the window, of an op and status, or of an op (any status).</summary>
    public long InWindow(Op op, int status) => windowed[(int)op * Log.Statuses + status];

    public long InWindowOf(Op op) => Enumerable.Range(0, Log.Statuses).Sum(s => windowed[(int)op * Log.Statuses + s]);

    public long InWindowAll() => windowed.Sum();

    public double PerSecond(long count) => count / window.Seconds;

    /// <summary>The latency at a quantile of the window's requests of <paramref name="op"/>, in milliseconds (NaN if none).</summary>
    public double Millis(Op op, double quantile)
    {
        var sorted = latencies[(int)op];
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        int index = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)] / 1000.0;
    }

    /// <summary>Statuses other than <paramref name="expected"/> over the whole run, as "status×count" (0: no answer).</summary>
    public string Unexpected(params int[] expected)
    {
        var parts = new List<string>();
        foreach (var op in Enum.GetValues<Op>())
        {
            for (int s = 0; s < Log.Statuses; s++)
            {
                long n = all[(int)op * Log.Statuses + s];
                if (n > 0 && !expected.Contains(s))
                {
                    parts.Add($"{op} {(s == 0 ? "no answer" : s.ToString(System.Globalization.CultureInfo.InvariantCulture))}×{n}");
                }
            }
        }

        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    /// <summary>Answers by status over the whole run, e.g. "200×123, 409×4567".</summary>
    public string Statuses(Op op)
    {
        var parts = Enumerable.Range(0, Log.Statuses).Where(s => all[(int)op * Log.Statuses + s] > 0)
            .Select(s => $"{s}×{all[(int)op * Log.Statuses + s]}");
        return string.Join(", ", parts);
    }
}
