using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static CouponBooks.Bench.Report;
using static CouponBooks.Bench.ScenarioRun;

namespace CouponBooks.Bench.Pools;

/// <summary>
/// The "pools" benchmark: a pool of N members added through the API in requests of 10,000 (half by user id, half
/// by email), then an <c>equal</c> distribution (perUser 1) and a <c>random</c> one (total N) from a book of
/// 10 × N generated codes, each request → job succeeded. Every figure against its target; the database is checked
/// after each step (members stored, one coupon per member, history rows, book stats).
/// </summary>
public sealed class PoolsScenario(BenchOptions options)
{
    private const int MembersPerRequest = 10_000;
    private const int CodesPerMember = 10;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan AddMembersTarget = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DistributionTarget = TimeSpan.FromSeconds(15);

    private readonly int _members = options.Count;
    private readonly ScenarioRun _run = new(options, "CouponBooks benchmark: pools and distribution");

    public async Task<int> RunAsync()
    {
        string tag = _run.Tag;
        await using var db = new Database(options.Postgres);
        using var api = new ApiSession(options.Api, options.AdminEmail, options.AdminPassword);
        await _run.StartAsync(db);
        await api.EnsureLoggedInAsync();
        long codes = (long)_members * CodesPerMember;
        Log($"run {tag}: a pool of {Count(_members)} members, a book of {Count(codes)} codes, against {options.Api}");

        var users = await SetUpUsersAsync(db, tag);
        var book = await SetUpBookAsync(api, tag, codes);
        var pool = await AddMembersAsync(api, db, tag, users);
        await DistributeAsync(api, db, "2", pool, book, users, new { bookId = book, mode = "equal", perUser = 1 }, expectedAssignedBefore: 0);
        await DistributeAsync(api, db, "3", pool, book, users, new { bookId = book, mode = "random", total = _members }, expectedAssignedBefore: _members);
        _run.PeakMemory("4");

        _run.Report.Note($"Set-up, not timed: {Count(_members)} users `bench-{tag.ToLowerInvariant()}-N@example.com` written straight into `users` by binary COPY (registering them one by one would measure password hashing, not pools), and the book's {Count(codes)} codes generated through the API.");
        _run.Report.Note("Each timed step starts after `VACUUM ANALYZE coupons` and `CHECKPOINT` (\"settle\" above).");
        return await _run.FinishAsync([("Pool members", Count(_members)), ("Codes in the book", Count(codes))]);
    }

    private async Task<IReadOnlyList<(Guid Id, string Email)>> SetUpUsersAsync(Database db, string tag)
    {
        Log($"set-up: {Count(_members)} users...");
        var users = new (Guid Id, string Email)[_members];
        for (int i = 0; i < users.Length; i++)
        {
            users[i] = (Guid.NewGuid(), $"bench-{tag.ToLowerInvariant()}-{i}@example.com");
        }

        var clock = Stopwatch.StartNew();
        ulong rows = await db.CopyUsersAsync(users);
        _run.Report.Add(new Phase("0", $"set-up: COPY {Count(_members)} users (not timed)", Seconds(clock.Elapsed)));
        Require(_run.Report.Add(new Check("set-up: users COPY reported", Count(_members), Count((long)rows), (long)rows == _members)), "the users' COPY");
        return users;
    }

    private async Task<Guid> SetUpBookAsync(ApiSession api, string tag, long codes)
    {
        Log($"set-up: a book of {Count(codes)} codes...");
        var book = await api.CreateBookAsync($"bench pools {tag}");
        var clock = Stopwatch.StartNew();
        using var response = await api.Http.PostAsJsonAsync($"/api/v1/books/{book}/codes/generate", new { pattern = $"POOLS-{tag}-########", count = codes }, JsonSerializerOptions.Web);
        string location = await ApiSession.AcceptedJobAsync(response, "generate codes");
        var job = await api.PollUntilSucceededAsync(location, PollInterval, options.JobTimeout);
        long generated = job.Result.GetProperty("generated").GetInt64();
        _run.Report.Add(new Phase("0", $"set-up: generate {Count(codes)} codes through the API (not timed)", Seconds(clock.Elapsed)));
        Require(_run.Report.Add(new Check("set-up: job result `generated`", Count(codes), Count(generated), generated == codes)), "the book's generation");
        return book;
    }

    /// <summary>Step 1: create a pool and add every user in requests of 10,000, alternately by user id and by email.</summary>
    private async Task<Guid> AddMembersAsync(ApiSession api, Database db, string tag, IReadOnlyList<(Guid Id, string Email)> users)
    {
        await api.EnsureLoggedInAsync();
        using var created = await api.Http.PostAsJsonAsync("/api/v1/pools", new { name = $"bench pool {tag}" }, JsonSerializerOptions.Web);
        var pool = (await ApiSession.ExpectAsync(created, HttpStatusCode.Created, "create a pool")).GetProperty("id").GetGuid();
        await _run.SettleAsync(db, "1");
        int requests = (users.Count + MembersPerRequest - 1) / MembersPerRequest;
        Log($"step 1: add {Count(users.Count)} members in {requests} requests...");

        long added = 0, already = 0, unknown = 0;
        var slowest = TimeSpan.Zero;
        var cpu = _run.Cpu.Start();
        var clock = Stopwatch.StartNew();
        for (int r = 0; r < requests; r++)
        {
            var batch = users.Skip(r * MembersPerRequest).Take(MembersPerRequest);
            object body = r % 2 == 0
                ? new { userIds = batch.Select(u => u.Id).ToArray() }
                : new { emails = batch.Select(u => u.Email).ToArray() };
            var one = Stopwatch.StartNew();
            using var response = await api.Http.PostAsJsonAsync($"/api/v1/pools/{pool}/members", body, JsonSerializerOptions.Web);
            var result = await ApiSession.ExpectAsync(response, HttpStatusCode.OK, "add pool members");
            slowest = one.Elapsed > slowest ? one.Elapsed : slowest;
            added += result.GetProperty("added").GetInt64();
            already += result.GetProperty("alreadyMembers").GetInt64();
            unknown += result.GetProperty("unknown").GetArrayLength();
        }

        var total = clock.Elapsed;
        _run.CpuPhase("1", cpu.Stop());
        Log($"step 1: {Seconds(total)}");
        _run.Report.Add(new Measurement("1", $"add {Count(users.Count)} members to a pool: {requests} sequential POST …/members of {Count(MembersPerRequest)} (odd requests by `userIds`, even by `emails`)", Seconds(total), $"≤ {AddMembersTarget.TotalSeconds:0} s", total <= AddMembersTarget));
        _run.Report.Add(new Phase("1", "slowest request", Seconds(slowest)));
        _run.Report.Add(new Phase("1", "rate", Rate(users.Count, total, "members")));

        _run.Report.Add(new Check("step 1: sum of `added` / `alreadyMembers` / `unknown`", $"{Count(users.Count)} / 0 / 0", $"{Count(added)} / {Count(already)} / {Count(unknown)}", added == users.Count && already == 0 && unknown == 0));
        long stored = await db.ScalarLongAsync("select count(*) from pool_members where pool_id = $1", pool);
        _run.Report.Add(new Check("step 1: `select count(*) from pool_members where pool_id = …`", Count(users.Count), Count(stored), stored == users.Count));
        using var got = await api.Http.GetAsync($"/api/v1/pools/{pool}");
        long memberCount = (await ApiSession.ExpectAsync(got, HttpStatusCode.OK, "get the pool")).GetProperty("memberCount").GetInt64();
        _run.Report.Add(new Check("step 1: GET /pools/{id} `memberCount`", Count(users.Count), Count(memberCount), memberCount == users.Count));
        return pool;
    }

    /// <summary>Steps 2 and 3: one distribution, request → job succeeded, then its result and the database checked.</summary>
    private async Task DistributeAsync(ApiSession api, Database db, string step, Guid pool, Guid book, IReadOnlyList<(Guid Id, string Email)> users, object request, long expectedAssignedBefore)
    {
        string mode = JsonSerializer.SerializeToElement(request, JsonSerializerOptions.Web).GetProperty("mode").GetString()!;
        string what = mode == "equal"
            ? $"`equal` distribution, perUser 1, to the pool of {Count(users.Count)}"
            : $"`random` distribution, total {Count(users.Count)}, to the same pool";
        await _run.SettleAsync(db, step);
        await api.EnsureLoggedInAsync();
        Log($"step {step}: {what}...");

        var cpu = _run.Cpu.Start();
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using var response = await api.Http.PostAsJsonAsync($"/api/v1/pools/{pool}/distributions", request, JsonSerializerOptions.Web);
        var accepted = clock.Elapsed;
        string location = await ApiSession.AcceptedJobAsync(response, $"start a {mode} distribution");
        var job = await api.PollUntilSucceededAsync(location, PollInterval, options.JobTimeout);
        var total = clock.Elapsed;
        _run.CpuPhase(step, cpu.Stop());
        Log($"step {step}: {Seconds(total)}");

        _run.Report.Add(new Measurement(step, $"{what}, from the book of {Count((long)users.Count * CodesPerMember)} codes: POST …/distributions → 202 → poll job every 50 ms until `succeeded`", Seconds(total), $"≤ {DistributionTarget.TotalSeconds:0} s", total <= DistributionTarget));
        _run.Report.Add(new Phase(step, "request → 202", Seconds(accepted)));
        _run.Report.Add(new Phase(step, "request → job `createdAt`", Seconds(job.CreatedAt - startedAt)));
        _run.Report.Add(new Phase(step, "job `createdAt` → `finishedAt` (the job's own duration)", Seconds(job.FinishedAt - job.CreatedAt)));
        _run.Report.Add(new Phase(step, $"job `finishedAt` → success observed ({job.Polls} polls)", Seconds(job.ObservedAt - job.FinishedAt)));
        _run.Report.Add(new Phase(step, "end-to-end rate", Rate(users.Count, total, "assignments")));

        var result = job.Result;
        long requested = result.GetProperty("requested").GetInt64(), assigned = result.GetProperty("assigned").GetInt64();
        long skippedUser = result.GetProperty("skippedUserLimit").GetInt64(), skippedBook = result.GetProperty("skippedBookLimit").GetInt64();
        bool exhausted = result.GetProperty("exhausted").GetBoolean();
        _run.Report.Add(new Phase(step, "job result `seed`", result.GetProperty("seed").ToString()));
        _run.Report.Add(new Check($"step {step}: job result `requested` / `assigned`", $"{Count(users.Count)} / {Count(users.Count)}", $"{Count(requested)} / {Count(assigned)}", requested == users.Count && assigned == users.Count));
        _run.Report.Add(new Check($"step {step}: job result `skippedUserLimit` / `skippedBookLimit` / `exhausted`", "0 / 0 / false", $"{Count(skippedUser)} / {Count(skippedBook)} / {exhausted.ToString().ToLowerInvariant()}", skippedUser == 0 && skippedBook == 0 && !exhausted));

        long expected = expectedAssignedBefore + users.Count;
        long given = await db.ScalarLongAsync("select count(*) from coupons where book_id = $1 and user_id is not null", book);
        _run.Report.Add(new Check($"step {step}: coupons of the book with an owner", Count(expected), Count(given), given == expected));
        long outsiders = await db.ScalarLongAsync(
            "select count(*) from coupons c where c.book_id = $1 and c.user_id is not null and not exists (select 1 from pool_members m where m.pool_id = $2 and m.user_id = c.user_id)",
            book, pool);
        _run.Report.Add(new Check($"step {step}: owners who are not members of the pool", "0", Count(outsiders), outsiders == 0));
        long history = await db.ScalarLongAsync(
            "select count(*) from coupon_history h join coupons c on c.code = h.code where c.book_id = $1 and h.action = 0", book);
        _run.Report.Add(new Check($"step {step}: `assign` history rows of the book", Count(expected), Count(history), history == expected));
        if (mode == "equal")
        {
            long members = await db.ScalarLongAsync("select count(distinct user_id) from coupons where book_id = $1 and user_id is not null", book);
            _run.Report.Add(new Check($"step {step}: distinct owners (one coupon per member)", Count(users.Count), Count(members), members == users.Count));
        }

        var stats = (await api.GetBookAsync(book)).GetProperty("stats");
        long statsAssigned = stats.GetProperty("assigned").GetInt64(), statsTotal = stats.GetProperty("total").GetInt64();
        long codes = (long)users.Count * CodesPerMember;
        _run.Report.Add(new Check($"step {step}: book `stats.assigned` / `stats.unassigned`", $"{Count(expected)} / {Count(codes - expected)}", $"{Count(statsAssigned)} / {Count(stats.GetProperty("unassigned").GetInt64())}",
            statsAssigned == expected && statsTotal == codes && stats.GetProperty("unassigned").GetInt64() == codes - expected));
    }

    private static void Require(bool pass, string what)
    {
        if (!pass)
        {
            throw new BenchFailure($"{what} did not write what it should; stopping");
        }
    }

    private static string Rate(long count, TimeSpan elapsed, string unit) =>
        (count / elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture) + $" {unit}/s";
}
