using System.Net;
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
        // Five writes, one after another: five batches of one change each; the refusal wrote nothing.
        Assert.Equal(5, Delta("couponbooks_storage_batch_size_count"));
        Assert.Equal(5, Delta("couponbooks_storage_batch_size_sum"));
        Assert.Equal(5, Delta("couponbooks_storage_batch_duration_seconds_count"));
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
    public void A_silo_without_a_metrics_port_collects_no_metrics()
    {
        Assert.Null(api.Silo.Services.GetService(typeof(OpenTelemetry.Metrics.MeterProvider)));
    }
}
