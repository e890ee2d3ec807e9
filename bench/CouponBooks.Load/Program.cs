using System.Globalization;
using System.Runtime.InteropServices;
using CouponBooks.Load;

// Exit codes: 0 every target met and every check passed; 1 a failure or a failed check; 2 bad usage;
// 3 every check passed but a performance target was missed.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine(LoadOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"load: {e.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

var startedAt = DateTimeOffset.UtcNow;
try
{
    await using var db = new Database(options.Postgres);
    string pgVersion = await db.ServerVersionAsync();
    int? postmaster = Probe.PostmasterOf(await db.BackendPidAsync());
    var probe = new Probe(options.Pids, postmaster, db.Source);
    var report = new Report();
    using var api = new Target("CouponBooks", options.Api, options.Connections);
    using var reference = new Target("reference", options.Reference, options.Connections);
    // What the rest of the machine does while this stack idles: other users' builds and tests skew every figure.
    var idleStart = await probe.TakeAsync();
    await Task.Delay(TimeSpan.FromSeconds(2));
    var idle = Usage.Between(idleStart, await probe.TakeAsync());
    double othersBefore = idle.OtherCpuSeconds / idle.Seconds;
    var scenarios = new Scenarios(options, db, probe, report);
    await scenarios.PrepareAsync(api, reference);
    await scenarios.RunAllAsync();

    report.Note("One machine runs everything: PostgreSQL, the silo, the API, the reference service and this load generator share its "
        + $"{Environment.ProcessorCount} cores, so every figure is what is left after the others' CPU (see the CPU columns); the generator's own share is the 'load' column.");
    report.Note("Each service works on its own books and coupons (seeded by COPY: assigned coupons with their assign history rows and book_stats), "
        + "so neither sees the other's state. Every request carries the token of the coupon's owner, minted with the Development key.");
    report.Note("Reference (bench/CouponBooks.Reference): ASP.NET Core minimal API, one NpgsqlDataSource (Npgsql auto-prepare on), the same JWT checks; "
        + "a transition is ONE statement: conditional UPDATE ... FROM books (owner, state, validity window, lock TTL) + its coupon_history row + its book_stats_deltas row, "
        + "autocommitted; a refusal costs that statement plus one SELECT to say why.");
    report.Note($"Before the scenarios each service ran every request path for {options.Prime.TotalSeconds:0} s unmeasured (priming), so tiered JIT compilation "
        + "is over before the first window. The load generator runs with the thread pool's spin-wait off (its runtimeconfig) to leave the cores to the services; "
        + "the silo, the API and the reference run as built, with the runtime's defaults.");
    report.Note("Latencies are whole-sample quantiles of every request in the window. Closed loops count what completes in the window; "
        + "the half-load open loop schedules lock+redeem pairs at the rate and counts pairs scheduled in the window, timing each lock from its scheduled moment.");
    report.Note("commits/s counts every transaction of the database (reads included); WAL flushes are pg_stat_wal.wal_sync; stats-delta rows are rows added to book_stats_deltas: "
        + "CouponBooks' writer adds one per batch and book, so for one-book scenarios 'transitions per delta row' is its batch size; the reference adds one per transition.");

    report.Note("'stolen by the host' is the steal time of /proc/stat: time this virtual machine was ready to run but its host ran something else. "
        + "It takes cores from every process alike, so a window with steal is slower and has longer tails than the same window without it.");

    var (restAverage, restMax) = report.RestOfMachine();
    if (restMax > 0.2 || othersBefore > 0.2)
    {
        report.Note($"WARNING: this machine was shared during the run: processes outside the measured stack used {othersBefore:0.00} cores before it "
            + $"and {restAverage:0.00} cores on average ({restMax:0.00} at most) during the measured windows (column 'rest of machine'), "
            + "so the figures are lower than on a quiet machine.");
    }

    var context = new List<(string, string)>
    {
        ("date", startedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)),
        ("machine", Machine(pgVersion)),
        ("command", $"`{options.Command}`"),
        ("revision", Environment.GetEnvironmentVariable("BENCH_REVISION") ?? "unknown"),
        ("rest of the machine", $"{othersBefore:0.00} cores busy outside this stack just before the runs, {restAverage:0.00} on average during the measured windows"),
        ("settings", $"{options.Connections} connections and closed-loop workers per target, {options.Warmup.TotalSeconds:0} s warm-up + {options.Duration.TotalSeconds:0} s measured per run, "
            + $"{options.Users:N0} users, {options.Pool:N0} pre-assigned coupons per target for (a)+(e), {options.GetCoupons:N0} for (c), {options.Hot} hot coupons, {options.AssignCodes:N0} free codes for (d)"),
    };
    string markdown = report.ToMarkdown("Coupon lifecycle: CouponBooks vs. a plain reference", context);
    Console.WriteLine(markdown);
    if (options.Out is { } path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, markdown);
        Console.Error.WriteLine($"load: wrote {path}");
    }

    if (!report.AllChecksPass)
    {
        Console.Error.WriteLine("load: a correctness check failed (see the table)");
        return 1;
    }

    return report.AllTargetsMet ? 0 : 3;
}
catch (LoadFailure e)
{
    Console.Error.WriteLine($"load: FAILED: {e.Message}");
    return 1;
}

static string Machine(string pgVersion)
{
    long memKiB = File.Exists("/proc/meminfo")
        ? long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)
        : 0;
    string cpu = File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
        : "?";
    string os = File.Exists("/etc/os-release")
        ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription
        : RuntimeInformation.OSDescription;
    return string.Create(CultureInfo.InvariantCulture,
        $"{Environment.ProcessorCount} cores ({cpu}), {memKiB / 1024.0 / 1024.0:0.0} GiB, {os}, .NET {Environment.Version}, PostgreSQL {pgVersion}");
}
