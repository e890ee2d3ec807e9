using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace CouponBooks.Load;

/// <summary>One service under load: its name in the table and an HTTP/1.1 keep-alive client with a fixed number of connections.</summary>
public sealed class Target : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;
    private string? _firstFailure;

    public Target(string name, Uri baseAddress, int connections)
    {
        Name = name;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public string Name { get; }

    public HttpClient Http => _http;

    /// <summary>The first request that got no answer, for the report.</summary>
    public string? FirstFailure => _firstFailure;

    /// <summary>Sends one request and reads the whole answer; the status, or 0 when there was none (refused, reset, timed out).</summary>
    public async Task<int> SendAsync(HttpMethod method, string path, string bearer, byte[]? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Authorization", bearer);
        if (json is not null)
        {
            request.Content = new ByteArrayContent(json);
            request.Content.Headers.ContentType = Json;
        }

        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            Interlocked.CompareExchange(ref _firstFailure, $"{method} {path}: {e.GetType().Name}: {e.Message}", null);
            return 0;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Runs a scenario's requests: closed loops of workers, or an open loop at a fixed rate.</summary>
public static class Driver
{
    /// <summary>
    /// <paramref name="workers"/> loops, each sending its next request when the last is answered, for the warm-up and the
    /// window. An iteration answers false when it has nothing left to send (its pool ran out); that worker stops.
    /// </summary>
    public static async Task<Run> ClosedLoopAsync(int workers, TimeSpan warmup, TimeSpan duration, Probe probe, Func<Log, Window, Task<bool>> iteration)
    {
        var window = Window.After(Stopwatch.GetTimestamp(), warmup, duration);
        var logs = Enumerable.Range(0, workers).Select(_ => new Log()).ToArray();
        var usage = probe.MeasureAsync(window);
        int ranOut = 0;
        var loops = logs.Select(log => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < window.End)
            {
                if (!await iteration(log, window))
                {
                    Interlocked.Increment(ref ranOut);
                    return;
                }
            }
        })).ToArray();
        await Task.WhenAll(loops);
        return new Run(Log.Merge(logs, window), await usage, ranOut > 0);
    }

    /// <summary>
    /// An open loop: a job is started at each scheduled moment, <paramref name="perSecond"/> a second, whether or not the
    /// earlier ones were answered; jobs time themselves from their scheduled moment, so a stall shows as latency.
    /// Jobs scheduled in the window count. Answers false from a job when its pool ran out.
    /// </summary>
    public static async Task<Run> OpenLoopAsync(
        double perSecond, TimeSpan warmup, TimeSpan duration, Probe probe, Func<Log, Window, long, Task<bool>> job, Uri? serviceMetrics = null)
    {
        var window = Window.After(Stopwatch.GetTimestamp(), warmup, duration);
        long origin = window.Start - Window.Ticks(warmup);
        var log = new Log(shared: true);
        var usage = probe.MeasureAsync(window, detailed: true, serviceMetrics);
        var jobs = new List<Task<bool>>();
        for (long i = 0; ; i++)
        {
            long due = origin + (long)(i * Stopwatch.Frequency / perSecond);
            if (due >= window.End)
            {
                break;
            }

            while (Stopwatch.GetTimestamp() < due)
            {
                await Task.Delay(1);
            }

            jobs.Add(job(log, window, due));
        }

        bool[] done = await Task.WhenAll(jobs);
        return new Run(Log.Merge([log], window), await usage, done.Any(d => !d));
    }
}

/// <summary>A run's requests, what the machine did meanwhile, and whether a pool ran out before the end.</summary>
public sealed record Run(Outcome Outcome, Usage Usage, bool RanOut);
