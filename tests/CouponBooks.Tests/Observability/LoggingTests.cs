using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Silo.Hosting;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace CouponBooks.Tests.Observability;

[Collection(LoggingCollection.Name)]
public sealed class LoggingTests(ApiFixture api)
{
    private const string ProblemsCategory = "CouponBooks.Api.Problems";

    [Fact]
    public async Task A_problem_responses_traceId_is_the_trace_id_of_its_JSON_log_line_on_stdout()
    {
        // The console logger takes Console.Out when its host is built; this collection runs alone, so the swap is safe.
        var original = Console.Out;
        var captured = new StringWriter();
        var synchronized = TextWriter.Synchronized(captured);
        Console.SetOut(synchronized);
        try
        {
            await using var factory = api.Factory.WithWebHostBuilder(b => b.UseSetting($"Logging:LogLevel:{ProblemsCategory}", "Debug"));
            using var client = factory.CreateClient();

            var problem = await ApiCalls.AssertProblemAsync(await client.GetAsync("/no-such-page"), HttpStatusCode.NotFound, "not-found");
            string traceId = problem.GetProperty("traceId").GetString()!;
            Assert.Matches("^[0-9a-f]{32}$", traceId);

            JsonElement? line = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(15); line is null && DateTime.UtcNow < deadline; await Task.Delay(50))
            {
                line = FindLine(Captured(synchronized, captured), ProblemsCategory, traceId);
            }

            Assert.True(line is not null, $"no JSON log line of {ProblemsCategory} carries trace id {traceId}:\n{Captured(synchronized, captured)}");
            Assert.Equal("Debug", line.Value.GetProperty("LogLevel").GetString());
            Assert.StartsWith("Answered 404 not-found to GET /no-such-page", line.Value.GetProperty("Message").GetString());
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Fact]
    public async Task With_grain_call_tracing_on_the_silos_log_line_for_a_request_carries_the_requests_trace_id()
    {
        var original = Console.Out;
        var captured = new StringWriter();
        var synchronized = TextWriter.Synchronized(captured);
        Console.SetOut(synchronized);
        try
        {
            string clusterId = $"tracing-{Guid.NewGuid():N}";
            await using var silo = await SiloProcess.StartAsync(api.ConnectionString, clusterId, new Dictionary<string, string>
            {
                ["Tracing:GrainCalls"] = "true",
                ["Logging:LogLevel:CouponBooks.Books"] = "Information",
            });
            var settings = ApiFixture.ApiSettings(api.ConnectionString, clusterId);
            settings["Tracing:GrainCalls"] = "true";
            await using var factory = new ApiFixture.ApiFactory(settings);
            using var admin = factory.CreateClient();
            string token = await LoginWhenConnectedAsync(admin);

            // The caller names the trace (W3C traceparent); the Api's request, its grain call and the grain's log line share it.
            string traceId = ActivityTraceId.CreateRandom().ToHexString();
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/books") { Content = JsonContent.Create(new { name = "Traced" }) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            var response = await admin.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var bookId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();

            JsonElement? line = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(15); line is null && DateTime.UtcNow < deadline; await Task.Delay(50))
            {
                line = FindLine(Captured(synchronized, captured), "CouponBooks.Books.BookGrain", traceId);
            }

            Assert.True(line is not null, $"no JSON log line of the book grain carries trace id {traceId}:\n{Captured(synchronized, captured)}");
            Assert.StartsWith($"Created book {bookId}", line.Value.GetProperty("Message").GetString());
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Fact]
    public async Task The_Api_logs_JSON_lines_with_trace_ids_outside_Development_and_plain_text_in_Development()
    {
        AssertJsonWithTraceIds(api.Factory.Services);

        await using var development = api.Factory.WithWebHostBuilder(b => b.UseEnvironment("Development"));
        Assert.Equal(ConsoleFormatterNames.Simple, development.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);

        await using var chosen = api.Factory.WithWebHostBuilder(b => b.UseSetting("Logging:Console:FormatterName", "systemd"));
        Assert.Equal(ConsoleFormatterNames.Systemd, chosen.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
    }

    [Fact]
    public void The_silo_logs_JSON_lines_with_trace_ids_outside_Development_and_plain_text_in_Development()
    {
        AssertJsonWithTraceIds(api.Silo.Services);

        using var production = SiloHost.CreateBuilder(["--environment=Production", "--ConnectionStrings:Postgres=Host=127.0.0.1"]).Build();
        AssertJsonWithTraceIds(production.Services);

        using var development = SiloHost.CreateBuilder(["--environment=Development", "--ConnectionStrings:Postgres=Host=127.0.0.1"]).Build();
        Assert.Equal(Environments.Development, development.Services.GetRequiredService<IHostEnvironment>().EnvironmentName);
        Assert.Equal(ConsoleFormatterNames.Simple, development.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
    }

    private static async Task<string> LoginWhenConnectedAsync(HttpClient client)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(200))
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = ApiFixture.AdminEmail, password = ApiFixture.AdminPassword });
            if (response.IsSuccessStatusCode)
            {
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("accessToken").GetString()!;
            }

            Assert.True(DateTime.UtcNow < deadline, $"login still answers {(int)response.StatusCode}");
        }
    }

    private static void AssertJsonWithTraceIds(IServiceProvider services)
    {
        Assert.Equal(ConsoleFormatterNames.Json, services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
        Assert.True(services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue.IncludeScopes);
        var tracking = services.GetRequiredService<IOptions<LoggerFactoryOptions>>().Value.ActivityTrackingOptions;
        Assert.True(tracking.HasFlag(ActivityTrackingOptions.TraceId) && tracking.HasFlag(ActivityTrackingOptions.SpanId), tracking.ToString());
    }

    /// <summary>What was written so far, read under the lock the synchronized writer takes for every write.</summary>
    private static string Captured(TextWriter synchronized, StringWriter captured)
    {
        lock (synchronized)
        {
            return captured.ToString();
        }
    }

    /// <summary>The JSON line of <paramref name="category"/> whose scopes carry <paramref name="traceId"/>.</summary>
    private static JsonElement? FindLine(string output, string category, string traceId)
    {
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            var root = JsonDocument.Parse(line).RootElement;
            if (root.GetProperty("Category").GetString() == category
                && root.TryGetProperty("Scopes", out var scopes)
                && scopes.EnumerateArray().Any(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out var id) && id.GetString() == traceId))
            {
                return root.Clone();
            }
        }

        return null;
    }
}
