using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CouponBooks.Tests.Faults;

public enum LoadOp
{
    Assign,
    Lock,
    Redeem,
    Read,
}

/// <summary>One request of the load and what came back: a status (0 when no answer came), and the problem's code.</summary>
public sealed record Sample(LoadOp Op, Guid UserId, Guid? BookId, string? Code, int Status, string? ErrorCode, bool RetryAfter, TimeSpan Start, TimeSpan End, string? Failure, bool Probe)
{
    public bool Acknowledged => Status is >= 200 and < 300;

    /// <summary>No answer, or a server error: the request's fate is unknown to its caller.</summary>
    public bool Failed => Status == 0 || Status >= 500;

    public TimeSpan Latency => End - Start;
}

/// <summary>Failures after a fault, with times relative to it.</summary>
public sealed record FaultReport(int Failed, TimeSpan LastFailedSent, TimeSpan LastFailedEnded, TimeSpan SlowestFailure, TimeSpan Slowest)
{
    public override string ToString() =>
        $"failed (503 or no answer): {Failed}; the last failed probe was sent {LastFailedSent.TotalSeconds:F1} s, the last failed request answered {LastFailedEnded.TotalSeconds:F1} s after the fault; " +
        $"slowest failed request {SlowestFailure.TotalSeconds:F1} s, slowest request {Slowest.TotalSeconds:F1} s";
}

/// <summary>A load client: a registered user with its own token, and the coupon it locks and redeems over and over.</summary>
public sealed record LoadUser(HttpClient Client, Guid Id, string CycleCode);

/// <summary>A book the load assigns from, with the limits it must keep.</summary>
public sealed record LoadBook(Guid Id, int? MaxPerUser, int? MaxTotal, int MaxRedemptions);

/// <summary>
/// A steady mixed load through the Api: many users, each with its own token, assign from a limited book (a new one
/// every slot, so assignments keep coming while limits are reached), lock and redeem what they got once, and lock and
/// redeem a coupon of a many-times-redeemable book over and over. Every request is recorded with its outcome.
/// </summary>
public sealed class MixedLoad
{
    public static readonly TimeSpan Slot = TimeSpan.FromSeconds(2.5);

    private static readonly HashSet<string> ExpectedRefusals =
        ["per-user-limit-reached", "book-limit-reached", "book-exhausted", "invalid-transition"];

    private readonly ConcurrentQueue<Sample> _samples = new();
    private readonly ConcurrentDictionary<long, TimeSpan> _inFlight = new();
    private long _requests;
    private readonly Stopwatch _clock = new();

    private MixedLoad(HttpClient admin, IReadOnlyList<LoadUser> users, IReadOnlyList<LoadUser> probers, IReadOnlyList<LoadBook> limited, LoadBook cycle, LoadBook probe)
    {
        Admin = admin;
        Users = users;
        Probers = probers;
        LimitedBooks = limited;
        CycleBook = cycle;
        ProbeBook = probe;
    }

    public HttpClient Admin { get; }

    public IReadOnlyList<LoadUser> Users { get; }

    public IReadOnlyList<LoadBook> LimitedBooks { get; }

    public LoadBook CycleBook { get; }

    /// <summary>Users that do not wait for their previous request: every <see cref="ProbeInterval"/> one of them assigns,
    /// locks, redeems and reads a coupon, so the load keeps asking even while the closed-loop users wait on answers.</summary>
    public IReadOnlyList<LoadUser> Probers { get; }

    public LoadBook ProbeBook { get; }

    public static TimeSpan ProbeInterval { get; } = TimeSpan.FromMilliseconds(200);

    public IReadOnlyList<LoadBook> AllBooks => [.. LimitedBooks, CycleBook, ProbeBook];

    public IReadOnlyCollection<Sample> Samples => _samples;

    /// <summary>Time since the load began (the clock every sample is stamped with).</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>
    /// Creates the books (limited books: single redemption, two per user, and every other one <paramref name="maxTotal"/>
    /// in all) and registers and logs in the users, each given one coupon of the cycle book.
    /// </summary>
    public static async Task<MixedLoad> PrepareAsync(WebApplicationFactory<Program> api, HttpClient admin, int users, int limitedBooks, int maxTotal = 60)
    {
        // Even books: two per user and room for everyone (the per-user limit is what stops them); odd books: two per
        // user but fewer than the users want in all (the book limit stops them).
        var limited = new List<LoadBook>();
        for (int i = 0; i < limitedBooks; i++)
        {
            int total = i % 2 == 0 ? users * 3 : maxTotal;
            var (id, _) = await CouponCalls.BookWithCodesAsync(admin, Math.Min(total, users * 2) + 30,
                new { name = $"Limited {i}", maxAssignmentsPerUser = 2, maxTotalAssignments = total });
            limited.Add(new LoadBook(id, 2, total, 1));
        }

        const int probers = 8;
        var (cycleId, _) = await CouponCalls.BookWithCodesAsync(admin, users + probers, new { name = "Cycle", maxRedemptionsPerCoupon = 1000 });
        var cycle = new LoadBook(cycleId, null, null, 1000);
        var (probeId, _) = await CouponCalls.BookWithCodesAsync(admin, 600, new { name = "Probes" });

        var created = new ConcurrentBag<LoadUser>();
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, users + probers).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var user = await ApiCalls.RegisterAsync(api.CreateClient());
                var client = api.CreateClient();
                client.Timeout = TimeSpan.FromSeconds(60);
                var tokens = await ApiCalls.LoginAsync(client, user.Email, user.Password);
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
                string code = (await CouponCalls.AssignOkAsync(client, cycleId)).GetProperty("code").GetString()!;
                created.Add(new LoadUser(client, user.Id, code));
            }
            finally
            {
                gate.Release();
            }
        }));

        var all = created.ToList();
        return new MixedLoad(admin, all[probers..], all[..probers], limited, cycle, new LoadBook(probeId, null, null, 1));
    }

    /// <summary>Runs every user's loop until <paramref name="stop"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken stop)
    {
        _clock.Start();
        return Task.WhenAll(Users.Select(user => Task.Run(() => UserLoopAsync(user, stop), CancellationToken.None)).Append(ProbeLoopAsync(stop)));
    }

    /// <summary>
    /// Lets the load run until it has gone <paramref name="quiet"/> without a failure and with no request waiting
    /// longer than that, at least <paramref name="minimum"/> after <paramref name="from"/>, at most <paramref name="maximum"/>.
    /// </summary>
    public async Task WaitUntilQuietAsync(TimeSpan from, TimeSpan quiet, TimeSpan minimum, TimeSpan maximum)
    {
        while (true)
        {
            var now = Now;
            var lastFailure = _samples.Where(s => s.Failed).Select(s => s.End).DefaultIfEmpty(from).Max();
            var oldestWaiting = _inFlight.Values.DefaultIfEmpty(now).Min();
            if (now - from >= maximum || (now - from >= minimum && now - Max(lastFailure, from) >= quiet && now - oldestWaiting < quiet))
            {
                return;
            }

            await Task.Delay(250);
        }
    }

    /// <summary>
    /// How the load fared after a fault at <paramref name="faultAt"/>: the failed requests, when the last failed probe
    /// was sent (every probe sent after it was answered without failure: the service served again), and when the
    /// last failed request ended (requests in flight at the fault may wait for a response timeout).
    /// </summary>
    public FaultReport Report(TimeSpan faultAt)
    {
        var failed = _samples.Where(s => s.Failed).ToList();
        return new FaultReport(
            failed.Count,
            failed.Where(s => s.Probe).Select(s => s.Start).DefaultIfEmpty(faultAt).Max() - faultAt,
            failed.Select(s => s.End).DefaultIfEmpty(faultAt).Max() - faultAt,
            failed.Select(s => s.Latency).DefaultIfEmpty().Max(),
            _samples.Max(s => s.Latency));
    }

    /// <summary>Answers that are neither a success, an expected refusal, nor a 503 <c>service-unavailable</c> problem.</summary>
    public List<Sample> Unexpected(bool allowUnanswered) => _samples.Where(s =>
        !(s.Acknowledged
          || (s.Status == 409 && ExpectedRefusals.Contains(s.ErrorCode ?? ""))
          || (s.Status == 503 && s.ErrorCode == "service-unavailable" && s.RetryAfter)
          || (s.Status == 0 && allowUnanswered))).ToList();

    public static string Describe(IEnumerable<Sample> samples) => string.Join("\n", samples.Take(20).Select(s =>
        $"{s.Op} {s.Code ?? s.BookId?.ToString()} at {s.Start.TotalSeconds:F1}s -> {s.Status} {s.ErrorCode} {s.Failure}"));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private async Task UserLoopAsync(LoadUser user, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var book = LimitedBooks[(int)(Now / Slot) % LimitedBooks.Count];
            var (assigned, _) = await SendAsync(user, LoadOp.Assign, book.Id, null, $"/api/v1/books/{book.Id}/assignments");
            if (assigned.Acknowledged && assigned.Code is { } code)
            {
                await SendAsync(user, LoadOp.Lock, book.Id, code, $"/api/v1/coupons/{code}/lock");
                await SendAsync(user, LoadOp.Redeem, book.Id, code, $"/api/v1/coupons/{code}/redeem");
            }

            // Lock and redeem regardless of the answers: a lost answer only means the next step is refused.
            await SendAsync(user, LoadOp.Lock, CycleBook.Id, user.CycleCode, $"/api/v1/coupons/{user.CycleCode}/lock");
            await SendAsync(user, LoadOp.Redeem, CycleBook.Id, user.CycleCode, $"/api/v1/coupons/{user.CycleCode}/redeem");
            await SendAsync(user, LoadOp.Read, CycleBook.Id, user.CycleCode, $"/api/v1/coupons/{user.CycleCode}", HttpMethod.Get);
        }
    }

    private async Task ProbeLoopAsync(CancellationToken stop)
    {
        var probes = new List<Task>();
        using var timer = new PeriodicTimer(ProbeInterval);
        for (int i = 0; await Next(timer, stop); i++)
        {
            probes.Add(ProbeAsync(Probers[i % Probers.Count]));
        }

        await Task.WhenAll(probes);
    }

    private static async Task<bool> Next(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task ProbeAsync(LoadUser user)
    {
        var (assigned, _) = await SendAsync(user, LoadOp.Assign, ProbeBook.Id, null, $"/api/v1/books/{ProbeBook.Id}/assignments", probe: true);
        if (assigned.Acknowledged && assigned.Code is { } code)
        {
            await SendAsync(user, LoadOp.Lock, ProbeBook.Id, code, $"/api/v1/coupons/{code}/lock", probe: true);
            await SendAsync(user, LoadOp.Redeem, ProbeBook.Id, code, $"/api/v1/coupons/{code}/redeem", probe: true);
            await SendAsync(user, LoadOp.Read, ProbeBook.Id, code, $"/api/v1/coupons/{code}", HttpMethod.Get, probe: true);
        }
    }

    private async Task<(Sample Sample, JsonElement? Body)> SendAsync(LoadUser user, LoadOp op, Guid bookId, string? code, string path, HttpMethod? method = null, bool probe = false)
    {
        var start = Now;
        long id = Interlocked.Increment(ref _requests);
        _inFlight[id] = start;
        Sample sample;
        JsonElement? body = null;
        try
        {
            using var response = await user.Client.SendAsync(new HttpRequestMessage(method ?? HttpMethod.Post, path));
            string text = await response.Content.ReadAsStringAsync();
            string? errorCode = null;
            if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType is "application/json" or "application/problem+json")
            {
                var json = JsonDocument.Parse(text).RootElement;
                body = json;
                errorCode = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("code", out var c) && response.StatusCode >= HttpStatusCode.BadRequest
                    ? c.GetString()
                    : null;
            }

            if (op == LoadOp.Assign && response.IsSuccessStatusCode && body is { } given && given.TryGetProperty("code", out var assigned))
            {
                code = assigned.GetString();
            }

            sample = new Sample(op, user.Id, bookId, code, (int)response.StatusCode, errorCode, response.Headers.RetryAfter is not null, start, Now, null, probe);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or IOException)
        {
            sample = new Sample(op, user.Id, bookId, code, 0, null, false, start, Now, ex.GetType().Name + ": " + ex.Message, probe);
        }

        _samples.Enqueue(sample);
        _inFlight.TryRemove(id, out _);
        if (sample.Failed && !probe)
        {
            // A real client backs off a little rather than spinning on a failing service.
            await Task.Delay(200);
        }

        return (sample, body);
    }

    /// <summary>Counts of the samples by operation and outcome, for the test output.</summary>
    public string Summary()
    {
        var lines = _samples.GroupBy(s => (s.Op, s.Status, s.ErrorCode)).OrderBy(g => g.Key.Op).ThenBy(g => g.Key.Status)
            .Select(g => $"  {g.Key.Op,-7} {g.Key.Status} {g.Key.ErrorCode,-24} {g.Count(),7}");
        return string.Join("\n", lines);
    }
}
