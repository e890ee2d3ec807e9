using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Observability;

[Collection(ObservabilityCollection.Name)]
public sealed class ApiMetricsTests(ApiFixture api)
{
    [Fact]
    public async Task Metrics_answers_Prometheus_text_to_anyone()
    {
        using var anonymous = api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);

        // ASP.NET Core records a request's duration as the request ends, which may be just after the client has the response.
        var scrape = await ScrapeUntilAsync(anonymous, s => s.Value("http_server_request_duration_seconds_count", ("http_route", "/health/live")) >= 1);

        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", scrape.Text);
        Assert.True(scrape.Value("http_server_request_duration_seconds_count", ("http_route", "/health/live"), ("http_response_status_code", "200")) >= 1,
            scrape.Text);
        Assert.True(scrape.Has("dotnet_gc_collections_total") || scrape.Has("dotnet_process_cpu_time_seconds_total"), "no runtime series:\n" + string.Join("\n", scrape.Names));
    }

    [Fact]
    public async Task Coupon_commands_move_the_Api_counters_by_exactly_what_happened()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 3, new { name = $"Metrics {Guid.NewGuid():N}", maxAssignmentsPerUser = 1 });
        var (client, _) = await api.NewUserAsync();
        using var anonymous = api.CreateClient();
        var before = await PrometheusText.ScrapeAsync(anonymous);

        string code = (await CouponCalls.AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(client, bookId), HttpStatusCode.Conflict, "per-user-limit-reached");
        string key = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, (await CouponCalls.ActAsync(client, code, "lock", key)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await CouponCalls.ActAsync(client, code, "lock", key)).StatusCode);
        await CouponCalls.ActOkAsync(client, code, "redeem");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "redeem"), HttpStatusCode.Conflict, "invalid-transition");
        (string, string)[] lastRequest = [("http_route", "/api/v1/coupons/{code}/redeem"), ("http_response_status_code", "409")];
        var after = await ScrapeUntilAsync(anonymous, s => s.Value("http_server_request_duration_seconds_count", lastRequest) > before.Value("http_server_request_duration_seconds_count", lastRequest));

        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Assert.Equal(1, Delta("couponbooks_api_assignments_total", ("mode", "random")));
        Assert.Equal(0, Delta("couponbooks_api_assignments_total", ("mode", "code")));
        Assert.Equal(1, Delta("couponbooks_api_refusals_total", ("operation", "assign"), ("code", "per-user-limit-reached")));
        Assert.Equal(1, Delta("couponbooks_api_refusals_total", ("operation", "assign")));
        Assert.Equal(1, Delta("couponbooks_api_locks_total"));
        Assert.Equal(1, Delta("couponbooks_api_idempotent_replays_total", ("operation", "lock")));
        Assert.Equal(1, Delta("couponbooks_api_redemptions_total"));
        Assert.Equal(0, Delta("couponbooks_api_unlocks_total"));
        Assert.Equal(1, Delta("couponbooks_api_refusals_total", ("operation", "redeem"), ("code", "invalid-transition")));
        Assert.Equal(2, Delta("couponbooks_api_refusals_total"));
        Assert.Equal(1, Delta("couponbooks_api_problems_total", ("code", "per-user-limit-reached")));
        Assert.Equal(1, Delta("couponbooks_api_problems_total", ("code", "invalid-transition")));
        Assert.Equal(2, Delta("couponbooks_api_problems_total"));
        Assert.Equal(2, Delta("http_server_request_duration_seconds_count",
            ("http_request_method", "POST"), ("http_route", "/api/v1/coupons/{code}/lock"), ("http_response_status_code", "200")));
        Assert.Equal(1, Delta("http_server_request_duration_seconds_count",
            ("http_request_method", "POST"), ("http_route", "/api/v1/books/{id:guid}/assignments"), ("http_response_status_code", "409")));
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (or 10 s passed: the caller's exact assertions then say what is off).</summary>
    private static async Task<PrometheusText> ScrapeUntilAsync(HttpClient client, Func<PrometheusText, bool> done)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(50))
        {
            var scrape = await PrometheusText.ScrapeAsync(client);
            if (done(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }
        }
    }

    [Fact]
    public async Task Every_problem_response_is_counted_by_its_code()
    {
        using var anonymous = api.CreateClient();
        var before = await PrometheusText.ScrapeAsync(anonymous);

        await ApiCalls.AssertProblemAsync(await anonymous.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await ApiCalls.AssertProblemAsync(await anonymous.GetAsync("/no-such-page"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(
            await anonymous.PostAsync("/api/v1/auth/login", CouponCalls.Json("{\"email\":")), HttpStatusCode.BadRequest, "validation-failed");
        var after = await PrometheusText.ScrapeAsync(anonymous);

        double Delta(string code) => after.Value("couponbooks_api_problems_total", ("code", code)) - before.Value("couponbooks_api_problems_total", ("code", code));
        Assert.Equal((1, 1, 1), (Delta("unauthorized"), Delta("not-found"), Delta("validation-failed")));
        Assert.Equal(3, after.Value("couponbooks_api_problems_total") - before.Value("couponbooks_api_problems_total"));
    }
}
