using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Observability;

[Collection(ObservabilityCollection.Name)]
public sealed class SiloMetricsTests(ApiFixture api)
{
    [Fact]
    public async Task A_silo_with_a_metrics_port_serves_its_transitions_writes_and_Orleans_series()
    {
        // A silo of its own cluster with the endpoint on; the fixture's silo (same process, same static meter) does the work.
        int port = TestPostgres.FreeTcpPort();
        await using var silo = await SiloProcess.StartAsync(api.ConnectionString, $"metrics-{Guid.NewGuid():N}", new Dictionary<string, string>
        {
            ["Metrics:Port"] = port.ToString(),
        });
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 2);
        var (client, _) = await api.NewUserAsync();
        var before = await PrometheusText.ScrapeAsync(scraper);

        string code = (await CouponCalls.AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
        await CouponCalls.ActOkAsync(client, code, "lock");
        await CouponCalls.ActOkAsync(client, code, "unlock");
        await CouponCalls.ActOkAsync(client, code, "lock");
        await CouponCalls.ActOkAsync(client, code, "redeem");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
        var after = await PrometheusText.ScrapeAsync(scraper);

        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Assert.Equal(1, Delta("couponbooks_coupon_transitions_total", ("action", "assign")));
        Assert.Equal(2, Delta("couponbooks_coupon_transitions_total", ("action", "lock")));
        Assert.Equal(1, Delta("couponbooks_coupon_transitions_total", ("action", "unlock")));
        Assert.Equal(1, Delta("couponbooks_coupon_transitions_total", ("action", "redeem")));
        Assert.Equal(0, Delta("couponbooks_coupon_transitions_total", ("action", "expire")));
        // Five writes, one after another: five batches of one change each. The redeemed coupon left memory, so the last
        // lock went out as a lock of an unread row (a sixth batch, which changed nothing) before the read that refused it.
        Assert.Equal(6, Delta("couponbooks_storage_batch_size_count"));
        Assert.Equal(6, Delta("couponbooks_storage_batch_size_sum"));
        Assert.Equal(6, Delta("couponbooks_storage_batch_duration_seconds_count"));
        Assert.True(Delta("couponbooks_storage_batch_duration_seconds_sum") > 0);
        Assert.Equal(0, Delta("couponbooks_storage_batch_failures_total"));
        Assert.Contains(after.Names, n => n.StartsWith("orleans_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_generation_job_counts_its_start_finish_and_codes()
    {
        int port = TestPostgres.FreeTcpPort();
        await using var silo = await SiloProcess.StartAsync(api.ConnectionString, $"metrics-{Guid.NewGuid():N}", new Dictionary<string, string>
        {
            ["Metrics:Port"] = port.ToString(),
        });
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var before = await PrometheusText.ScrapeAsync(scraper);

        var job = await BookCalls.GenerateAsync(admin, bookId, "MET-######-??", 1500);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        var after = await PrometheusText.ScrapeAsync(scraper);

        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Assert.Equal(1, Delta("couponbooks_jobs_started_total", ("kind", "generate-codes")));
        Assert.Equal(1, Delta("couponbooks_jobs_finished_total", ("kind", "generate-codes"), ("state", "succeeded")));
        Assert.Equal(0, Delta("couponbooks_jobs_finished_total", ("kind", "generate-codes"), ("state", "failed")));
        Assert.Equal(1500, Delta("couponbooks_jobs_processed_total", ("kind", "generate-codes")));
        Assert.Equal(0, after.Value("couponbooks_jobs_running", ("kind", "generate-codes")));
    }

    [Fact]
    public async Task A_distribution_job_counts_its_assignments_and_its_progress()
    {
        int port = TestPostgres.FreeTcpPort();
        await using var silo = await SiloProcess.StartAsync(api.ConnectionString, $"metrics-{Guid.NewGuid():N}", new Dictionary<string, string>
        {
            ["Metrics:Port"] = port.ToString(),
        });
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var admin = await api.AdminClientAsync();
        var created = await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Metrics {Guid.NewGuid():N}" });
        var poolId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        var members = new List<Guid>();
        for (int i = 0; i < 3; i++)
        {
            members.Add((await api.NewUserAsync()).User.Id);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members", new { userIds = members })).StatusCode);
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 10);
        var before = await PrometheusText.ScrapeAsync(scraper);

        var job = await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal", perUser = 2 }));
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(6, job.GetProperty("result").GetProperty("assigned").GetInt64());
        var after = await PrometheusText.ScrapeAsync(scraper);

        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Assert.Equal(6, Delta("couponbooks_coupon_transitions_total", ("action", "assign")));
        Assert.Equal(1, Delta("couponbooks_jobs_started_total", ("kind", "distribution")));
        Assert.Equal(1, Delta("couponbooks_jobs_finished_total", ("kind", "distribution"), ("state", "succeeded")));
        Assert.Equal(6, Delta("couponbooks_jobs_processed_total", ("kind", "distribution")));
        // Set-based: the distribution does not go through the per-coupon writer.
        Assert.Equal(0, Delta("couponbooks_storage_batch_size_count"));
    }

    [Fact]
    public async Task A_lock_that_runs_out_is_counted_once_as_an_expiry()
    {
        int port = TestPostgres.FreeTcpPort();
        await using var silo = await SiloProcess.StartAsync(api.ConnectionString, $"metrics-{Guid.NewGuid():N}", new Dictionary<string, string>
        {
            ["Metrics:Port"] = port.ToString(),
        });
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = $"Expiry {Guid.NewGuid():N}", lockTtlSeconds = 5 });
        var before = await PrometheusText.ScrapeAsync(scraper);

        await CouponCalls.ActOkAsync(client, code, "lock");
        // The sweep (every 2 s) releases the lock once it ran out, records the expiry and counts it.
        PrometheusText after;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(250))
        {
            after = await PrometheusText.ScrapeAsync(scraper);
            if (after.Value("couponbooks_coupon_transitions_total", ("action", "expire")) > before.Value("couponbooks_coupon_transitions_total", ("action", "expire")))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the run-out lock was never counted as released");
        }

        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 3", code));
        double Delta(string action) => after.Value("couponbooks_coupon_transitions_total", ("action", action)) - before.Value("couponbooks_coupon_transitions_total", ("action", action));
        Assert.Equal((1, 1), (Delta("lock"), Delta("expire")));
    }

    [Fact]
    public void A_silo_without_a_metrics_port_collects_no_metrics()
    {
        Assert.Null(api.Silo.Services.GetService(typeof(OpenTelemetry.Metrics.MeterProvider)));
    }
}
