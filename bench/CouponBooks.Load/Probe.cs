using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace CouponBooks.Load;

/// <summary>PostgreSQL's counters at one moment: commits, WAL flushes and records, and two sequences of the write path.</summary>
public sealed record PgCounters(long Commits, long WalSyncs, long WalRecords, long WalBytes, long DeltaRows, long HistoryRows);

/// <summary>
/// One second of the machine: cores busy and stolen, what its disks did, the longest a 1 ms sleep of this process
/// overslept (the machine, or this process, not running it), this process's own GC pauses, and the service's GC
/// pauses when its metrics were read.
/// </summary>
public sealed record Second(double BusyCores, double StealCores, DiskCounters Disk, TimeSpan LongestHiccup, TimeSpan LoadGcPause, TimeSpan? ServiceGcPause)
{
    /// <summary>PostgreSQL's most common wait of the second among active client backends, with their average number.</summary>
    public (string Event, double Sessions)? TopWait { get; init; }
}

/// <summary>
/// Samples pg_stat_activity every 20 ms on a connection of its own: what the active client backends wait for (a lock,
/// the WAL flush, I/O...), counted per event, so a stalled second names what PostgreSQL was waiting on.
/// </summary>
public sealed class WaitSampler : IDisposable
{
    private const string Sql =
        """
        select wait_event_type || ':' || wait_event, count(*)::int from pg_stat_activity
        where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid() and wait_event is not null
        group by 1
        """;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Dictionary<string, int> _counts = [];
    private int _samples;

    public WaitSampler(NpgsqlDataSource db) => _loop = Task.Run(() => LoopAsync(db));

    /// <summary>The most common wait since the last call, as the average number of sessions in it per sample.</summary>
    public (string Event, double Sessions)? TakeTop()
    {
        lock (_counts)
        {
            (string, double)? top = _counts.Count == 0 || _samples == 0
                ? null
                : _counts.MaxBy(c => c.Value) is var (name, count) ? (name, count / (double)_samples) : null;
            _counts.Clear();
            _samples = 0;
            return top;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop.Wait();
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync(NpgsqlDataSource db)
    {
        try
        {
            await using var connection = await db.OpenConnectionAsync(_stop.Token);
            await using var command = new NpgsqlCommand(Sql, connection);
            while (!_stop.IsCancellationRequested)
            {
                var seen = new List<(string, int)>();
                await using (var reader = await command.ExecuteReaderAsync(_stop.Token))
                {
                    while (await reader.ReadAsync(_stop.Token))
                    {
                        seen.Add((reader.GetString(0), reader.GetInt32(1)));
                    }
                }

                lock (_counts)
                {
                    _samples++;
                    foreach (var (name, count) in seen)
                    {
                        _counts[name] = _counts.GetValueOrDefault(name) + count;
                    }
                }

                await Task.Delay(20, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>
/// A thread of its own that sleeps 1 ms over and over and keeps the longest oversleep: a stall of the whole machine
/// (or of this process) shows here whatever the services were doing.
/// </summary>
public sealed class HiccupMeter : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _longest;

    public HiccupMeter()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "hiccup meter" };
        _thread.Start();
    }

    /// <summary>The longest oversleep since the last call.</summary>
    public TimeSpan TakeLongest() => Stopwatch.GetElapsedTime(0, Interlocked.Exchange(ref _longest, 0));

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        long expected = Stopwatch.Frequency / 1000;
        while (!_stop)
        {
            long before = Stopwatch.GetTimestamp();
            Thread.Sleep(1);
            long over = Stopwatch.GetTimestamp() - before - expected;
            long seen = Interlocked.Read(ref _longest);
            while (over > seen)
            {
                long found = Interlocked.CompareExchange(ref _longest, over, seen);
                if (found == seen)
                {
                    break;
                }

                seen = found;
            }
        }
    }
}

/// <summary>
/// The whole disks' counters of /proc/diskstats (partitions and loop/ram devices left out), summed: writes and the
/// milliseconds spent on them, cache flushes (what fsync/fdatasync asks of the device) and their milliseconds, and the
/// milliseconds with any I/O in flight.
/// </summary>
public sealed record DiskCounters(long Writes, long WriteMs, long Flushes, long FlushMs, long BusyMs)
{
    public static DiskCounters Read()
    {
        long writes = 0, writeMs = 0, flushes = 0, flushMs = 0, busyMs = 0;
        try
        {
            foreach (string line in File.ReadLines("/proc/diskstats"))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 14 || f[2].StartsWith("loop", StringComparison.Ordinal) || f[2].StartsWith("ram", StringComparison.Ordinal)
                    || !Directory.Exists($"/sys/block/{f[2]}"))
                {
                    continue;
                }

                writes += long.Parse(f[7], CultureInfo.InvariantCulture);
                writeMs += long.Parse(f[10], CultureInfo.InvariantCulture);
                busyMs += long.Parse(f[12], CultureInfo.InvariantCulture);
                if (f.Length >= 20)
                {
                    flushes += long.Parse(f[18], CultureInfo.InvariantCulture);
                    flushMs += long.Parse(f[19], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return new DiskCounters(writes, writeMs, flushes, flushMs, busyMs);
    }

    public DiskCounters Minus(DiskCounters b) => new(Writes - b.Writes, WriteMs - b.WriteMs, Flushes - b.Flushes, FlushMs - b.FlushMs, BusyMs - b.BusyMs);
}

/// <summary>CPU ticks (1/100 s) of each metered process and of the whole machine, and PostgreSQL's counters, at one moment.</summary>
public sealed record Snapshot(long At, IReadOnlyDictionary<string, long> Ticks, long MachineBusy, long MachineSteal, PgCounters Pg);

/// <summary>What happened between two snapshots: CPU seconds per process (and the rest of the machine), PostgreSQL's counters.</summary>
public sealed record Usage(double Seconds, IReadOnlyList<(string Name, double CpuSeconds)> Cpu, double OtherCpuSeconds, double StealSeconds, PgCounters Pg)
{
    /// <summary>The machine, second by second through the window.</summary>
    public IReadOnlyList<Second> BySecond { get; init; } = [];

    public static readonly Usage None = new(0, [], 0, 0, new PgCounters(0, 0, 0, 0, 0, 0));

    public double CpuOf(string name) => Cpu.FirstOrDefault(c => c.Name == name).CpuSeconds;

    public static Usage Between(Snapshot a, Snapshot b)
    {
        double seconds = (b.At - a.At) / (double)Stopwatch.Frequency;
        var cpu = b.Ticks.Select(t => (t.Key, (t.Value - a.Ticks.GetValueOrDefault(t.Key)) / 100.0)).ToList();
        double metered = cpu.Sum(c => c.Item2);
        double busy = (b.MachineBusy - a.MachineBusy) / 100.0;
        return new Usage(seconds, cpu, Math.Max(0, busy - metered), (b.MachineSteal - a.MachineSteal) / 100.0, new PgCounters(
            b.Pg.Commits - a.Pg.Commits, b.Pg.WalSyncs - a.Pg.WalSyncs, b.Pg.WalRecords - a.Pg.WalRecords, b.Pg.WalBytes - a.Pg.WalBytes,
            b.Pg.DeltaRows - a.Pg.DeltaRows, b.Pg.HistoryRows - a.Pg.HistoryRows));
    }
}

/// <summary>
/// Meters a window: CPU of the named processes (/proc/PID/stat utime + stime; PostgreSQL is the postmaster, its live
/// children and the children it has reaped), the machine's busy and steal time (/proc/stat), and PostgreSQL's
/// pg_stat_database.xact_commit, pg_stat_wal and the sequences of book_stats_deltas and coupon_history. The
/// statistics counters reach the views within about a second, so rates from them are approximate; sequences are exact.
/// </summary>
public sealed class Probe(IReadOnlyList<(string Name, int Pid)> processes, int? postmaster, NpgsqlDataSource db)
{
    private const string CountersSql =
        """
        select (select xact_commit from pg_stat_database where datname = current_database()),
               (select wal_sync from pg_stat_wal), (select wal_records from pg_stat_wal),
               pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint,
               coalesce(pg_sequence_last_value(pg_get_serial_sequence('book_stats_deltas', 'id')::regclass), 0),
               coalesce(pg_sequence_last_value(pg_get_serial_sequence('coupon_history', 'id')::regclass), 0)
        """;

    public IReadOnlyList<string> Names => [.. processes.Select(p => p.Name), "postgres", "load"];

    public async Task<Snapshot> TakeAsync()
    {
        long at = Stopwatch.GetTimestamp();
        var ticks = new Dictionary<string, long>();
        foreach (var (name, pid) in processes)
        {
            ticks[name] = Stat(pid)?.Own ?? 0;
        }

        ticks["postgres"] = postmaster is { } pm ? PostgresTicks(pm) : 0;
        ticks["load"] = Stat(Environment.ProcessId)?.Own ?? 0;
        var (busy, steal) = MachineTicks();
        PgCounters pg;
        await using (var command = db.CreateCommand(CountersSql))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            pg = new PgCounters(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
        }

        return new Snapshot(at, ticks, busy, steal, pg);
    }

    /// <summary>
    /// Snapshots at the start and the end of the window; when <paramref name="detailed"/>, also the machine, its disks,
    /// PostgreSQL's waits and this process's hiccups second by second in between (a little work of its own, so only
    /// the half-load windows, whose tails it explains, ask for it).
    /// </summary>
    /// <remarks>With <paramref name="serviceMetrics"/> (a Prometheus scrape endpoint of the service), its GC pause time is read every second too.</remarks>
    public async Task<Usage> MeasureAsync(Window window, bool detailed = false, Uri? serviceMetrics = null)
    {
        await DelayUntil(window.Start);
        var start = await TakeAsync();
        if (!detailed)
        {
            await DelayUntil(window.End);
            return Usage.Between(start, await TakeAsync());
        }

        using var waits = new WaitSampler(db);
        var seconds = new List<Second>();
        var (busy, steal) = MachineTicks();
        var disk = DiskCounters.Read();
        var paused = GC.GetTotalPauseDuration();
        double? servicePaused = await GcPauseSecondsAsync(serviceMetrics);
        using var hiccups = new HiccupMeter();
        for (long next = window.Start + Stopwatch.Frequency; next <= window.End; next += Stopwatch.Frequency)
        {
            await DelayUntil(next);
            var (busyNow, stealNow) = MachineTicks();
            var diskNow = DiskCounters.Read();
            var pausedNow = GC.GetTotalPauseDuration();
            double? servicePausedNow = await GcPauseSecondsAsync(serviceMetrics);
            var servicePause = servicePausedNow - servicePaused is { } delta ? TimeSpan.FromSeconds(delta) : (TimeSpan?)null;
            seconds.Add(new Second((busyNow - busy) / 100.0, (stealNow - steal) / 100.0, diskNow.Minus(disk), hiccups.TakeLongest(), pausedNow - paused, servicePause)
            {
                TopWait = waits.TakeTop(),
            });
            (busy, steal, disk, paused, servicePaused) = (busyNow, stealNow, diskNow, pausedNow, servicePausedNow);
        }

        await DelayUntil(window.End);
        return Usage.Between(start, await TakeAsync()) with { BySecond = seconds };
    }

    /// <summary>The service's total GC pause time (dotnet_gc_pause_time_seconds_total of its scrape), or null.</summary>
    private static async Task<double?> GcPauseSecondsAsync(Uri? metrics)
    {
        if (metrics is null)
        {
            return null;
        }

        try
        {
            string text = await Scraper.GetStringAsync(metrics);
            foreach (string line in text.Split('\n'))
            {
                if (line.StartsWith("dotnet_gc_pause_time_seconds_total", StringComparison.Ordinal))
                {
                    return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or FormatException)
        {
        }

        return null;
    }

    private static readonly HttpClient Scraper = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>The postmaster of the server a backend belongs to (its parent), or null if it cannot be read.</summary>
    public static int? PostmasterOf(int backendPid) => Stat(backendPid)?.Parent;

    private static async Task DelayUntil(long timestamp)
    {
        long wait = timestamp - Stopwatch.GetTimestamp();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
        }
    }

    private static long PostgresTicks(int postmaster)
    {
        long total = Stat(postmaster) is { } own ? own.Own + own.Reaped : 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && Stat(pid) is { } stat && stat.Parent == postmaster)
            {
                total += stat.Own;
            }
        }

        return total;
    }

    private static (long Busy, long Steal) MachineTicks()
    {
        string line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        long[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal
        return (f[0] + f[1] + f[2] + f[5] + f[6], f.Length > 7 ? f[7] : 0);
    }

    /// <summary>Fields 4 (parent), 14 + 15 (own utime + stime) and 16 + 17 (reaped children) of /proc/PID/stat.</summary>
    private static (int Parent, long Own, long Reaped)? Stat(int pid)
    {
        try
        {
            string text = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            long L(int field) => long.Parse(f[field - 3], CultureInfo.InvariantCulture);
            return (int.Parse(f[1], CultureInfo.InvariantCulture), L(14) + L(15), L(16) + L(17));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
