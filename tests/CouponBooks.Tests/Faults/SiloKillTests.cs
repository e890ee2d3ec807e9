using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Faults;

/// <summary>A silo process killed with SIGKILL in the middle of a steady load of assignments and redemptions.</summary>
[Collection(FaultsCollection.Name)]
public sealed class SiloKillTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ResponseTimeoutLimit = TimeSpan.FromSeconds(35);

    [Fact]
    public async Task Killing_one_of_two_silos_under_load_loses_no_acknowledged_write_passes_no_limit_and_the_api_serves_again_within_30_s()
    {
        var setup = System.Diagnostics.Stopwatch.StartNew();
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"silo-kill-{Guid.NewGuid():N}";
        var starting = new[]
        {
            SiloChildProcess.StartAsync(connectionString, clusterId, FaultSetup.AdminSettings()),
            SiloChildProcess.StartAsync(connectionString, clusterId, FaultSetup.AdminSettings()),
        };
        await Task.WhenAll(starting);
        await using var first = await starting[0];
        await using var second = await starting[1];
        output.WriteLine($"silos started: {FaultSetup.Seconds(setup.Elapsed)}");
        await using var api = new ApiFixture.ApiFactory(FaultSetup.ApiSettings(connectionString, clusterId));
        using var admin = await FaultSetup.AdminAsync(api);
        output.WriteLine($"admin logged in: {FaultSetup.Seconds(setup.Elapsed)}");
        var load = await MixedLoad.PrepareAsync(api, admin, users: 48, limitedBooks: 20);
        output.WriteLine($"setup: {FaultSetup.Seconds(setup.Elapsed)}");

        using var stop = new CancellationTokenSource();
        var running = load.RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(6));

        // Kill the silo that holds the most book activations, so limits must be rebuilt from the database.
        var victim = await BusierSiloAsync(api, first, second);
        var survivor = victim == first ? second : first;
        var killedAt = load.Now;
        victim.Kill();
        await load.WaitUntilQuietAsync(killedAt, quiet: TimeSpan.FromSeconds(5), minimum: TimeSpan.FromSeconds(10), maximum: TimeSpan.FromSeconds(50));
        await stop.CancelAsync();
        await running;

        var samples = load.Samples.ToList();
        var report = load.Report(killedAt);
        var ledger = await Ledger.CheckAsync(connectionString, load);
        output.WriteLine($"silo kill: {load.Users.Count} users, {samples.Count} requests over {FaultSetup.Seconds(load.Now)}; killed the silo on port {victim.SiloPort} at {FaultSetup.Seconds(killedAt)}");
        output.WriteLine($"  {ledger.Summary()}");
        output.WriteLine($"  {report}");
        output.WriteLine($"  recovery (kill to the last failed probe sent): {FaultSetup.Seconds(report.LastFailedSent)}");
        output.WriteLine(load.Summary());

        Assert.True(survivor.ProcessId is not null, $"the surviving silo exited:\n{survivor.RecentOutput}");
        var unexpected = load.Unexpected(allowUnanswered: false);
        Assert.True(unexpected.Count == 0, $"unexpected answers:\n{MixedLoad.Describe(unexpected)}");
        Assert.True(ledger.Lost.Count == 0 && ledger.Duplicated.Count == 0 && ledger.Inconsistent.Count == 0, ledger.Problems());
        Assert.True(report.LastFailedSent < RecoveryLimit, $"probes sent {FaultSetup.Seconds(report.LastFailedSent)} after the kill still failed");

        // Requests already sent through the killed silo are answered 503 by Orleans' 30 s response timeout, never later.
        Assert.True(report.Slowest < ResponseTimeoutLimit, $"a request took {FaultSetup.Seconds(report.Slowest)}");

        // The load was real on both sides of the kill, and after the last failure every kind of request succeeded again.
        Assert.Contains(samples, s => s.Op == LoadOp.Assign && s.Acknowledged && s.End < killedAt);
        Assert.Contains(samples, s => s.Op == LoadOp.Assign && s.Acknowledged && s.Start > killedAt);
        var recovered = killedAt + report.LastFailedSent;
        foreach (var op in new[] { LoadOp.Lock, LoadOp.Redeem, LoadOp.Read })
        {
            Assert.Contains(samples, s => s.Op == op && s.Acknowledged && s.Start > recovered);
        }

        Assert.Contains(samples, s => s.Op == LoadOp.Assign && !s.Failed && s.Start > recovered);
        Assert.Contains(samples, s => s.ErrorCode == "book-limit-reached");
        Assert.Contains(samples, s => s.ErrorCode == "per-user-limit-reached");
    }

    private static async Task<SiloChildProcess> BusierSiloAsync(ApiFixture.ApiFactory api, SiloChildProcess first, SiloChildProcess second)
    {
        var management = api.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var statistics = await management.GetSimpleGrainStatistics();
        int Books(SiloChildProcess silo) => statistics
            .Where(s => s.SiloAddress.Endpoint.Port == silo.SiloPort && s.GrainType.Contains("BookGrain", StringComparison.Ordinal))
            .Sum(s => s.ActivationCount);
        return Books(second) > Books(first) ? second : first;
    }
}
