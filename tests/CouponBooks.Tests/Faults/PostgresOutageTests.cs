using CouponBooks.Books;
using CouponBooks.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Faults;

/// <summary>PostgreSQL stopped for ten seconds under load, on a server of this test's own.</summary>
[Collection(FaultsCollection.Name)]
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task While_postgres_is_down_requests_fail_with_503_service_unavailable_never_hang_and_the_service_recovers_by_itself()
    {
        await using var postgres = await DedicatedPostgres.StartAsync();
        string connectionString = await TestPostgres.CreateDatabaseOnAsync(postgres.ServerConnectionString);
        string clusterId = $"pg-outage-{Guid.NewGuid():N}";
        await using var silo = await SiloChildProcess.StartAsync(connectionString, clusterId, FaultSetup.AdminSettings());
        await using var api = new ApiFixture.ApiFactory(FaultSetup.ApiSettings(connectionString, clusterId));
        using var admin = await FaultSetup.AdminAsync(api);
        var load = await MixedLoad.PrepareAsync(api, admin, users: 32, limitedBooks: 20);

        using var stop = new CancellationTokenSource();
        var running = load.RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(5));

        var stopping = load.Now;
        await postgres.StopAsync();
        var stopped = load.Now;
        await Task.Delay(Outage - (load.Now - stopping));
        var starting = load.Now;
        await postgres.StartAgainAsync();
        var back = load.Now;
        await load.WaitUntilQuietAsync(back, quiet: TimeSpan.FromSeconds(5), minimum: TimeSpan.FromSeconds(8), maximum: TimeSpan.FromSeconds(45));
        await stop.CancelAsync();
        await running;

        var samples = load.Samples.ToList();
        var report = load.Report(back);
        var ledger = await Ledger.CheckAsync(connectionString, load);
        output.WriteLine($"postgres outage: {load.Users.Count} users, {samples.Count} requests over {FaultSetup.Seconds(load.Now)}; " +
            $"stopping at {FaultSetup.Seconds(stopping)}, stopped at {FaultSetup.Seconds(stopped)}, starting at {FaultSetup.Seconds(starting)}, accepting connections at {FaultSetup.Seconds(back)}");
        output.WriteLine($"  {ledger.Summary()}");
        output.WriteLine($"  {report.Failed} failed, all 503 service-unavailable; slowest request {FaultSetup.Seconds(report.Slowest)}");
        output.WriteLine($"  recovery (PostgreSQL accepting connections to the last failed probe sent): {FaultSetup.Seconds(report.LastFailedSent)}");
        output.WriteLine(load.Summary());

        Assert.True(silo.ProcessId is not null, $"the silo exited:\n{silo.RecentOutput}");
        var unexpected = load.Unexpected(allowUnanswered: false);
        Assert.True(unexpected.Count == 0, $"answers other than success, an expected refusal or 503 service-unavailable:\n{MixedLoad.Describe(unexpected)}");
        Assert.True(report.Slowest < HangLimit, $"a request took {FaultSetup.Seconds(report.Slowest)}");
        Assert.True(ledger.Lost.Count == 0 && ledger.Duplicated.Count == 0 && ledger.Inconsistent.Count == 0, ledger.Problems());

        // The outage was felt: writes sent while the server was down failed, none was acknowledged.
        Assert.Contains(samples, s => s.Status == 503 && s.Start > stopped && s.End < starting);
        Assert.DoesNotContain(samples, s => s.Op != LoadOp.Read && s.Acknowledged && s.Start > stopped && s.End < starting);

        // It recovered by itself: every probe sent from some moment after the server returned succeeded, writes included.
        Assert.True(report.LastFailedSent < RecoveryLimit, $"probes sent {FaultSetup.Seconds(report.LastFailedSent)} after PostgreSQL returned still failed");
        var recovered = back + report.LastFailedSent;
        foreach (var op in new[] { LoadOp.Assign, LoadOp.Lock, LoadOp.Redeem, LoadOp.Read })
        {
            Assert.Contains(samples, s => s.Op == op && s.Acknowledged && s.Start > recovered);
        }
    }

    [Fact]
    public async Task A_read_of_free_codes_that_failed_while_postgres_was_down_is_tried_again_once_it_is_back()
    {
        await using var postgres = await DedicatedPostgres.StartAsync();
        string connectionString = await TestPostgres.CreateDatabaseOnAsync(postgres.ServerConnectionString);
        var bookId = Guid.NewGuid();
        await TestDb.ExecuteAsync(connectionString, "insert into coupons (code, book_id) values ('FREE-CODE-1', $1)", bookId);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var supply = new FreeCodeSupply(dataSource, bookId);

        await postgres.StopAsync();
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await supply.TakeAsync(new HashSet<string>()));
        await postgres.StartAgainAsync();

        var free = await supply.TakeAsync(new HashSet<string>());
        Assert.Equal("FREE-CODE-1", free?.Code);
    }
}
