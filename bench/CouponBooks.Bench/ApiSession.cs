using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace CouponBooks.Bench;

/// <summary>A job as GET /api/v1/jobs/{id} answers it, with the moment the bench saw it succeed.</summary>
public sealed record ObservedJob(Guid Id, string State, JsonElement Result, DateTimeOffset CreatedAt, DateTimeOffset FinishedAt, DateTimeOffset ObservedAt, int Polls);

/// <summary>A job that did not finish within the bench's timeout for it.</summary>
public sealed class JobTimedOut(string location, string state, long processed, long total, DateTimeOffset createdAt)
    : Exception($"job {location} still {state} ({processed} of {total})")
{
    public string Location { get; } = location;

    public DateTimeOffset CreatedAt { get; } = createdAt;
}

/// <summary>An admin's session with the API: logs in, keeps the token fresh, and wraps the calls the benchmarks make.</summary>
public sealed class ApiSession(Uri baseAddress, string email, string password) : IDisposable
{
    private static readonly TimeSpan TokenRefreshAfter = TimeSpan.FromMinutes(5);
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
        UseCookies = false,
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromMinutes(10),
    };

    private readonly Stopwatch _tokenAge = new();

    public HttpClient Http => _http;

    /// <summary>Logs in when there is no token yet or it is getting old (access tokens last 15 minutes by default).</summary>
    public async Task EnsureLoggedInAsync()
    {
        if (_tokenAge.IsRunning && _tokenAge.Elapsed < TokenRefreshAfter)
        {
            return;
        }

        // The silo creates the bootstrap admin just after it starts, so right after start-up a 401 may only mean "not yet".
        var deadline = Stopwatch.StartNew();
        var response = await _http.PostAsJsonAsync("/api/v1/auth/login", new { email, password }, Json);
        while (!_tokenAge.IsRunning && response.StatusCode == HttpStatusCode.Unauthorized && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            response.Dispose();
            await Task.Delay(500);
            response = await _http.PostAsJsonAsync("/api/v1/auth/login", new { email, password }, Json);
        }

        using var answer = response;
        var body = await ExpectAsync(answer, HttpStatusCode.OK, "log in as admin");
        string token = body.GetProperty("accessToken").GetString() ?? throw new BenchFailure("the login answered no accessToken");
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _tokenAge.Restart();
    }

    public async Task<Guid> CreateBookAsync(string name)
    {
        await EnsureLoggedInAsync();
        using var response = await _http.PostAsJsonAsync("/api/v1/books", new { name }, Json);
        var body = await ExpectAsync(response, HttpStatusCode.Created, "create a book");
        return body.GetProperty("id").GetGuid();
    }

    public async Task<JsonElement> GetBookAsync(Guid bookId)
    {
        using var response = await _http.GetAsync($"/api/v1/books/{bookId}");
        return await ExpectAsync(response, HttpStatusCode.OK, "get a book");
    }

    /// <summary>Checks a 202 job answer (Location and jobId agree) and answers the job's path.</summary>
    public static async Task<string> AcceptedJobAsync(HttpResponseMessage response, string what)
    {
        var body = await ExpectAsync(response, HttpStatusCode.Accepted, what);
        var jobId = body.GetProperty("jobId").GetGuid();
        string location = response.Headers.Location?.OriginalString ?? throw new BenchFailure($"{what}: the 202 has no Location header");
        if (!location.EndsWith($"/api/v1/jobs/{jobId}", StringComparison.OrdinalIgnoreCase))
        {
            throw new BenchFailure($"{what}: Location {location} does not name job {jobId}");
        }

        return location;
    }

    /// <summary>Polls a job every <paramref name="interval"/> until it succeeds; a failed job or a timeout is a failure.</summary>
    public async Task<ObservedJob> PollUntilSucceededAsync(string location, TimeSpan interval, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        for (int polls = 1; ; polls++)
        {
            using var response = await _http.GetAsync(location);
            var job = await ExpectAsync(response, HttpStatusCode.OK, "poll a job");
            string state = job.GetProperty("state").GetString() ?? "";
            if (state == "succeeded")
            {
                var observedAt = DateTimeOffset.UtcNow;
                return new ObservedJob(
                    job.GetProperty("id").GetGuid(),
                    state,
                    job.GetProperty("result").Clone(),
                    job.GetProperty("createdAt").GetDateTimeOffset(),
                    job.GetProperty("finishedAt").GetDateTimeOffset(),
                    observedAt,
                    polls);
            }

            if (state == "failed")
            {
                throw new BenchFailure($"job {location} failed: {job.GetProperty("error")}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new JobTimedOut(location, state, job.GetProperty("processed").GetInt64(), job.GetProperty("total").GetInt64(), job.GetProperty("createdAt").GetDateTimeOffset());
            }

            await Task.Delay(interval);
        }
    }

    /// <summary>Polls a job until it has failed (after its database work was cancelled); false if it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitUntilFailedAsync(string location, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            using var response = await _http.GetAsync(location);
            var job = await ExpectAsync(response, HttpStatusCode.OK, "poll a job");
            if (job.GetProperty("state").GetString() is "failed" or "succeeded")
            {
                return true;
            }

            await Task.Delay(200);
        }

        return false;
    }

    /// <summary>Reads the body as JSON when the status is the expected one; anything else is a failure naming the step.</summary>
    public static async Task<JsonElement> ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        string text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
        {
            throw new BenchFailure($"{what}: expected {(int)expected}, got {(int)response.StatusCode}: {Truncate(text)}");
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BenchFailure($"{what}: the body is not JSON: {Truncate(text)}", e);
        }
    }

    private static string Truncate(string text) => text.Length <= 2000 ? text : text[..2000] + "…";

    public void Dispose() => _http.Dispose();
}
