using System.Globalization;
using static CouponBooks.Bench.Report;

namespace CouponBooks.Bench;

/// <summary>
/// What every scenario of the bench shares: its report, the CPU meter of the stack (silo, API, PostgreSQL),
/// settling the server before a timed step, and writing the report to bench/results/&lt;scenario&gt;-latest.md.
/// </summary>
public sealed class ScenarioRun(BenchOptions options, string title)
{
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private string _postgresVersion = "unknown";

    public Report Report { get; } = new(title);

    public CpuMeter Cpu { get; private set; } = new([], null);

    /// <summary>Three random letters that keep this run's codes, books and users apart from any earlier run's.</summary>
    public string Tag { get; } = string.Create(3, 0, static (span, _) =>
    {
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = (char)('A' + Random.Shared.Next(26));
        }
    });

    /// <summary>Reads the server's version and finds its postmaster, so the CPU rows can count PostgreSQL as part of the stack.</summary>
    public async Task StartAsync(Database db)
    {
        _postgresVersion = await db.ServerVersionAsync();
        int? postmaster = CpuMeter.PostmasterOf(await db.BackendPidAsync());
        Cpu = new CpuMeter([options.SiloPid, options.ApiPid], postmaster);
        if (postmaster is null)
        {
            Report.Note("The PostgreSQL server is not a local process the bench can see: its CPU counts as \"other\" in the CPU rows.");
        }
    }

    /// <summary>The step's CPU use; a step during which the rest of the machine was busy gets a note, as its figure is pessimistic.</summary>
    public void CpuPhase(string step, CpuUse use)
    {
        Report.Add(new Phase(step, "CPU during the step: this stack (silo, API, PostgreSQL, bench) / other processes / steal / iowait", use.ToString()));
        double foreign = use.OtherSeconds + use.StealSeconds;
        if (foreign > 0.1 * use.Wall.TotalSeconds && foreign > 0.2)
        {
            Report.Note(string.Create(CultureInfo.InvariantCulture,
                $"Step {step} shared the machine: other processes and steal took {foreign:0.0} s of CPU during its {use.Wall.TotalSeconds:0.0} s (of {Environment.ProcessorCount * use.Wall.TotalSeconds:0} CPU-seconds available), so its figure is pessimistic."));
        }
    }

    public async Task SettleAsync(Database db, string step)
    {
        var settled = await db.SettleAsync();
        Report.Add(new Phase(step, "settle before the step: VACUUM ANALYZE coupons / CHECKPOINT (not timed)",
            $"{Seconds(settled.Vacuum)} / {(settled.Checkpoint is { } c ? Seconds(c) : "not allowed")}"));
        if (settled.Checkpoint is null)
        {
            Report.Note("CHECKPOINT was refused (the role needs superuser or `pg_checkpoint`; bench/run.sh grants it): steps may pay for earlier steps' dirty pages.");
        }
    }

    /// <summary>Prints the report, writes it to --out (default bench/results/&lt;scenario&gt;-latest.md) and answers the exit code.</summary>
    public async Task<int> FinishAsync(IReadOnlyList<(string Name, string Value)> context)
    {
        string markdown = Report.ToMarkdown(
        [
            ("Date", _started.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)),
            ("Machine", MachineInfo.Describe(_postgresVersion) + "; silo, API, PostgreSQL and the bench all on this machine"),
            ("Command", $"`{Environment.GetEnvironmentVariable("BENCH_COMMAND") ?? "(bench run directly)"}`"),
            ("Revision", Environment.GetEnvironmentVariable("BENCH_REVISION") ?? "unknown"),
            ("Bench invocation", $"`{options.RedactedCommandLine()}`"),
            .. context,
        ]);
        Console.WriteLine(markdown);
        string output = options.Output ?? DefaultOutput();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, markdown);
        Log($"wrote {output}");

        if (!Report.AllChecksPass)
        {
            Log("a correctness check FAILED: the figures do not count");
            return 1;
        }

        return Report.AllTargetsMet ? 0 : 3;
    }

    /// <summary>Peak memory (VmHWM) of the silo against the 1 GiB target, and of the API for the record.</summary>
    public void PeakMemory(string step)
    {
        const long SiloMemoryTargetKiB = 1024 * 1024;
        long silo = MachineInfo.ProcessKiB(options.SiloPid, "VmHWM") ?? throw new BenchFailure($"cannot read /proc/{options.SiloPid}/status (silo gone?)");
        long api = MachineInfo.ProcessKiB(options.ApiPid, "VmHWM") ?? throw new BenchFailure($"cannot read /proc/{options.ApiPid}/status (API gone?)");
        Report.Add(new Measurement(step, "silo peak memory (VmHWM, /proc/<silo pid>/status, at the end)", MiB(silo), "< 1 GiB", silo < SiloMemoryTargetKiB));
        Report.Add(new Measurement(step, "API peak memory (VmHWM)", MiB(api), "— (reported)", null));
        Report.Add(new Phase(step, "silo / API resident now (VmRSS)", $"{MiB(MachineInfo.ProcessKiB(options.SiloPid, "VmRSS") ?? 0)} / {MiB(MachineInfo.ProcessKiB(options.ApiPid, "VmRSS") ?? 0)}"));
    }

    public static void Log(string message) =>
        Console.Error.WriteLine($"bench: {DateTime.UtcNow:HH:mm:ss.fff} {message}");

    /// <summary>bench/results/&lt;scenario&gt;-latest.md under the repository (found from the working directory up), else here.</summary>
    private string DefaultOutput()
    {
        string name = $"{options.Scenario}-latest.md";
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CouponBooks.sln")))
            {
                return Path.Combine(dir.FullName, "bench", "results", name);
            }
        }

        return Path.Combine(Environment.CurrentDirectory, name);
    }
}
