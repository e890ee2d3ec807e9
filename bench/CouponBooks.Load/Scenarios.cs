using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace CouponBooks.Load;

/// <summary>One service's data: its own books and coupons, so neither service sees the other's state.</summary>
public sealed class Side(Target target, string letter, string tag)
{
    public Target Target => target;

    public Guid LockBook { get; set; }

    public Guid HotBook { get; set; }

    public Guid GetBook { get; set; }

    public Guid PrimeBook { get; set; }

    public int NextPrime;

    /// <summary>The next unused coupon of the lock-redeem pool.</summary>
    public int NextLock;

    public long Locks;

    public long Redeems;

    public double LockRedeemPerSecond = double.NaN;

    public string LockCode(int i) => $"LR{letter}{tag}{i:D7}";

    public string HotCode(int i) => $"HOT{letter}{tag}{i:D5}";

    public string GetCode(int i) => $"GET{letter}{tag}{i:D6}";

    public string PrimeCode(int i) => $"PR{letter}{tag}{i:D7}";
}

/// <summary>The scenarios of `bench/run.sh coupons`, each run against both services (assign: the API only), and their checks.</summary>
public sealed partial class Scenarios(LoadOptions options, Database db, Probe probe, Report report)
{
    private const double LockShare = 0.5;
    private const int HotMaxRedemptions = 1000;
    private const int HotGenerations = 20;
    private const double UnlockShare = 0.3;
    private static readonly HttpMethod Post = HttpMethod.Post;
    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    private readonly string _tag = RandomTag();
    private Guid[] _users = [];
    private string[] _bearers = [];
    private Side _api = null!;
    private Side _reference = null!;
    private const int PrimePool = 40_000;
    private Guid _assignBook;
    private Guid _primeAssignBook;
    private readonly Dictionary<Side, (double Lock50, double Lock99, double Redeem50, double Redeem99)> _latencies = [];
    private double _pgbenchTps = double.NaN;

    private static long Now => Stopwatch.GetTimestamp();

    /// <summary>Users and their tokens, the books (through the API's admin) and every coupon (COPY into the tables).</summary>
    public async Task PrepareAsync(Target api, Target reference)
    {
        _api = new Side(api, "A", _tag);
        _reference = new Side(reference, "R", _tag);
        var clock = Stopwatch.StartNew();
        _users = Enumerable.Range(0, options.Users).Select(_ => Guid.NewGuid()).ToArray();
        await db.InsertUsersAsync(_users, _tag.ToLowerInvariant());
        var tokens = Tokens.Development();
        _bearers = _users.Select(u => tokens.Bearer(u, "USER", TimeSpan.FromHours(3))).ToArray();

        using var admin = new AdminSession(options.Api);
        await admin.LogInAsync(options.AdminEmail, options.AdminPassword);
        foreach (var side in new[] { _api, _reference })
        {
            string who = side == _api ? "CouponBooks" : "reference";
            side.LockBook = await admin.CreateBookAsync($"load {_tag} lock-redeem ({who})", 1, 300);
            side.HotBook = await admin.CreateBookAsync($"load {_tag} hot set ({who})", HotMaxRedemptions, 300);
            side.GetBook = await admin.CreateBookAsync($"load {_tag} get ({who})", 1, 300);
            if (options.Runs("lock-redeem") || options.Runs("half-load"))
            {
                await db.SeedCouponsAsync(side.LockBook, options.Pool, side.LockCode, Owner);
            }

            await db.SeedCouponsAsync(side.HotBook, options.Hot * HotGenerations, side.HotCode, Owner);
            await db.SeedCouponsAsync(side.GetBook, options.GetCoupons, side.GetCode, Owner);
        }

        foreach (var side in new[] { _api, _reference })
        {
            side.PrimeBook = await admin.CreateBookAsync($"load {_tag} priming ({side.Target.Name})", 1, 300);
            await db.SeedCouponsAsync(side.PrimeBook, PrimePool, side.PrimeCode, Owner);
        }

        _primeAssignBook = await admin.CreateBookAsync($"load {_tag} priming assignments (CouponBooks)", 1, 300);
        await db.SeedCouponsAsync(_primeAssignBook, PrimePool, i => $"PA{_tag}{i:D7}", owner: null);
        _assignBook = await admin.CreateBookAsync($"load {_tag} assign (CouponBooks)", 1, 300);
        if (options.Runs("assign"))
        {
            await db.SeedCouponsAsync(_assignBook, options.AssignCodes, i => $"AS{_tag}{i:D7}", owner: null);
        }

        Console.Error.WriteLine($"load: prepared {options.Users} users and the coupons in {clock.Elapsed.TotalSeconds:0.0} s");

        // Both services must accept the minted tokens and see the seeded coupons before anything is measured.
        foreach (var side in new[] { _api, _reference })
        {
            int status = await side.Target.SendAsync(HttpMethod.Get, $"/api/v1/coupons/{side.GetCode(0)}", _bearers[0]);
            if (status != 200)
            {
                throw new LoadFailure($"{side.Target.Name}: GET of a seeded coupon with its owner's token answered {status} {side.Target.FirstFailure}");
            }
        }
    }

    public async Task RunAllAsync()
    {
        if (options.Prime > TimeSpan.Zero)
        {
            await PrimeAsync();
        }

        if (options.Runs("pgbench"))
        {
            await PgbenchAsync();
        }

        if (options.Runs("lock-redeem"))
        {
            await LockRedeemAsync();
        }

        if (options.Runs("half-load"))
        {
            await HalfLoadAsync();
        }

        if (options.Runs("hot-set"))
        {
            await HotSetAsync();
        }

        if (options.Runs("get"))
        {
            await GetAsync();
        }

        if (options.Runs("assign"))
        {
            await AssignAsync();
        }
    }

    private Guid Owner(int i) => _users[i % _users.Length];

    private string Bearer(int i) => _bearers[i % _bearers.Length];

    /// <summary>
    /// Before anything is measured, each service runs every request path for a while on coupons of its own priming book,
    /// so the JIT has compiled the hot paths at full optimization (tiered compilation otherwise recompiles them during the
    /// first measured run, on the same two cores). Nothing of it is measured or checked.
    /// </summary>
    private async Task PrimeAsync()
    {
        foreach (var side in new[] { _api, _reference })
        {
            var target = side.Target;
            bool assigns = side == _api;
            var run = await Driver.ClosedLoopAsync(options.Connections, TimeSpan.Zero, options.Prime, probe, async (log, window) =>
            {
                int k = Interlocked.Increment(ref side.NextPrime) - 1;
                if (k >= PrimePool)
                {
                    return false;
                }

                string code = side.PrimeCode(k);
                string bearer = Bearer(k);
                foreach (var (op, method, verb) in new[]
                {
                    (Op.Get, HttpMethod.Get, ""), (Op.Lock, Post, "/lock"), (Op.Unlock, Post, "/unlock"), (Op.Lock, Post, "/lock"),
                    (Op.Redeem, Post, "/redeem"), (Op.Redeem, Post, "/redeem"), (Op.Get, HttpMethod.Get, ""),
                })
                {
                    long start = Now;
                    int status = await target.SendAsync(method, $"/api/v1/coupons/{code}{verb}", bearer);
                    log.Record(op, status, start, Now, window, start);
                }

                if (assigns)
                {
                    long start = Now;
                    int status = await target.SendAsync(Post, $"/api/v1/books/{_primeAssignBook}/assignments", bearer, EmptyObject);
                    log.Record(Op.Assign, status, start, Now, window, start);
                }

                return true;
            });
            var o = run.Outcome;
            Console.Error.WriteLine($"load: primed {target.Name} for {options.Prime.TotalSeconds:0} s: get {o.Statuses(Op.Get)}; lock {o.Statuses(Op.Lock)}; unlock {o.Statuses(Op.Unlock)}; redeem {o.Statuses(Op.Redeem)}"
                + (assigns ? $"; assign {o.Statuses(Op.Assign)}" : ""));
        }
    }

    /// <summary>f. The physical limit of one durable write on this server: pgbench, one single-row UPDATE per transaction.</summary>
    private async Task PgbenchAsync()
    {
        string pgbench = options.Pgbench ?? FindPgbench();
        var cs = new NpgsqlConnectionStringBuilder(options.Postgres);
        await db.ExecuteAsync("drop table if exists bench_rows");
        await db.ExecuteAsync("create table bench_rows (id integer primary key, n bigint not null default 0)");
        await db.ExecuteAsync("insert into bench_rows (id) select g from generate_series(1, 100000) g");
        await db.SettleAsync();
        await db.ExecuteAsync("vacuum analyze bench_rows");
        string script = Path.Combine(Path.GetTempPath(), $"couponbooks-pgbench-{_tag}.sql");
        await File.WriteAllTextAsync(script, "\\set id random(1, 100000)\nupdate bench_rows set n = n + 1 where id = :id;\n");
        int seconds = (int)options.Duration.TotalSeconds;
        var start = new ProcessStartInfo(pgbench)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "-n", "-M", "prepared", "-c", options.Connections.ToString(CultureInfo.InvariantCulture), "-j", "2",
                "-T", seconds.ToString(CultureInfo.InvariantCulture), "-f", script,
                "-h", cs.Host!, "-p", cs.Port.ToString(CultureInfo.InvariantCulture), "-U", cs.Username!, cs.Database!,
            },
        };
        start.Environment["PGPASSWORD"] = cs.Password;
        Console.Error.WriteLine($"load: pgbench -c {options.Connections} -j 2 -T {seconds} ...");
        var before = await probe.TakeAsync();
        using var process = Process.Start(start) ?? throw new LoadFailure($"could not start {pgbench}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var usage = Usage.Between(before, await probe.TakeAsync());
        string output = await stdout;
        File.Delete(script);
        await db.ExecuteAsync("drop table bench_rows");
        var tps = TpsLine().Match(output);
        if (process.ExitCode != 0 || !tps.Success)
        {
            throw new LoadFailure($"pgbench failed (exit {process.ExitCode}): {output} {await stderr}");
        }

        _pgbenchTps = double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture);
        var latency = LatencyLine().Match(output);
        report.Add(new Row($"f. pgbench: one single-row UPDATE per commit (-M prepared -c {options.Connections} -j 2 -T {seconds}), transactions/s",
            Report.Rate(_pgbenchTps), "", "", "", latency.Success ? $"latency average {latency.Groups[1].Value} ms" : "", null));
        report.Add(new Cost("pgbench", "pgbench", _pgbenchTps, _pgbenchTps, usage, probe.Names));
    }

    /// <summary>a. Lock then redeem each next unused assigned coupon, 64 closed loops; throughput in durable transitions a second.</summary>
    private async Task LockRedeemAsync()
    {
        foreach (var side in new[] { _api, _reference })
        {
            var target = side.Target;
            await SettleAsync($"lock-redeem on {target.Name}");
            var run = await Driver.ClosedLoopAsync(options.Connections, options.Warmup, options.Duration, probe, async (log, window) =>
            {
                int k = Interlocked.Increment(ref side.NextLock) - 1;
                if (k >= options.Pool)
                {
                    return false;
                }

                string code = side.LockCode(k);
                string bearer = Bearer(k);
                long start = Now;
                int status = await target.SendAsync(Post, $"/api/v1/coupons/{code}/lock", bearer);
                long end = Now;
                log.Record(Op.Lock, status, start, end, window, end);
                if (status == 200)
                {
                    start = end;
                    status = await target.SendAsync(Post, $"/api/v1/coupons/{code}/redeem", bearer);
                    end = Now;
                    log.Record(Op.Redeem, status, start, end, window, end);
                }

                return true;
            });
            var o = run.Outcome;
            side.LockRedeemPerSecond = o.PerSecond(o.InWindow(Op.Lock, 200) + o.InWindow(Op.Redeem, 200));
            _latencies[side] = (o.Millis(Op.Lock, 0.5), o.Millis(Op.Lock, 0.99), o.Millis(Op.Redeem, 0.5), o.Millis(Op.Redeem, 0.99));
            Console.Error.WriteLine($"load: lock-redeem {target.Name}: {side.LockRedeemPerSecond:0} transitions/s; lock {o.Statuses(Op.Lock)}; redeem {o.Statuses(Op.Redeem)}");
            report.Add(new Cost("a. lock-redeem", target.Name, o.PerSecond(o.InWindowAll()), side.LockRedeemPerSecond, run.Usage, probe.Names));
            await CheckLockPoolAsync("a. lock-redeem", side, run);
        }

        double api = _api.LockRedeemPerSecond, reference = _reference.LockRedeemPerSecond;
        double vsPgbench = api / _pgbenchTps;
        report.Add(new Row("a. lock-redeem (lock + redeem of fresh coupons, 64 closed loops), transitions/s", Report.Rate(api), Report.Rate(reference),
            Report.Ratio(api / reference), Report.Ratio(vsPgbench), "≥ 1.0× reference and ≥ 0.35× pgbench",
            api >= reference && (double.IsNaN(_pgbenchTps) || vsPgbench >= 0.35)));
        var (al, ar) = (_latencies[_api], _latencies[_reference]);
        report.Add(new Row("a. lock-redeem at full load: lock p50 / p99; redeem p50 / p99",
            $"{Report.Millis(al.Lock50)} / {Report.Millis(al.Lock99)}; {Report.Millis(al.Redeem50)} / {Report.Millis(al.Redeem99)}",
            $"{Report.Millis(ar.Lock50)} / {Report.Millis(ar.Lock99)}; {Report.Millis(ar.Redeem50)} / {Report.Millis(ar.Redeem99)}", "", "", "", null));
    }

    /// <summary>e. Lock then redeem at half the rate each service reached in (a), an open loop; latencies from the scheduled moment.</summary>
    private async Task HalfLoadAsync()
    {
        var p99 = new Dictionary<Side, (double Lock50, double Lock99, double Redeem50, double Redeem99, double Rate)>();
        var timeline = new List<(string Label, IReadOnlyList<string> Values)>();
        foreach (var side in new[] { _api, _reference })
        {
            var target = side.Target;
            if (double.IsNaN(side.LockRedeemPerSecond) && options.HalfLoadRate is null)
            {
                throw new LoadFailure("half-load needs the lock-redeem scenario first (its maximum sets the rate), or --half-load-rate");
            }

            double rate = options.HalfLoadRate ?? side.LockRedeemPerSecond / 2;
            await SettleAsync($"half load on {target.Name}");
            var run = await Driver.OpenLoopAsync(rate / 2, options.Warmup, options.Duration, probe, async (log, window, due) =>
            {
                int k = Interlocked.Increment(ref side.NextLock) - 1;
                if (k >= options.Pool)
                {
                    return false;
                }

                string code = side.LockCode(k);
                string bearer = Bearer(k);
                int status = await target.SendAsync(Post, $"/api/v1/coupons/{code}/lock", bearer);
                long end = Now;
                log.Record(Op.Lock, status, due, end, window, due);
                if (status == 200)
                {
                    long start = end;
                    status = await target.SendAsync(Post, $"/api/v1/coupons/{code}/redeem", bearer);
                    log.Record(Op.Redeem, status, start, Now, window, due);
                }

                return true;
            }, side == _api ? new Uri(options.Api, "/metrics") : null);
            var o = run.Outcome;
            p99[side] = (o.Millis(Op.Lock, 0.5), o.Millis(Op.Lock, 0.99), o.Millis(Op.Redeem, 0.5), o.Millis(Op.Redeem, 0.99), rate);
            double achieved = o.PerSecond(o.InWindow(Op.Lock, 200) + o.InWindow(Op.Redeem, 200));
            Console.Error.WriteLine($"load: half load {target.Name}: {rate:0} requests/s scheduled, {achieved:0} transitions/s; lock p50/p99 {p99[side].Lock50}/{p99[side].Lock99} ms, redeem {p99[side].Redeem50}/{p99[side].Redeem99} ms");
            Console.Error.WriteLine($"load: half load {target.Name}: slowest request of each second, ms: {o.SlowestBySecond()}");
            Console.Error.WriteLine($"load: half load {target.Name}: each second, machine CPU busy (cores): {Each(run.Usage, s => s.BusyCores.ToString("0.0", CultureInfo.InvariantCulture))}; "
                + $"disk ms per write: {Each(run.Usage, s => PerOp(s.Disk.WriteMs, s.Disk.Writes))}; disk ms per flush: {Each(run.Usage, s => PerOp(s.Disk.FlushMs, s.Disk.Flushes))}; "
                + $"longest oversleep of a 1 ms sleep here, ms: {Each(run.Usage, s => s.LongestHiccup.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture))}; "
                + $"load generator's GC pauses, ms: {Each(run.Usage, s => s.LoadGcPause.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture))}"
                + (side == _api ? $"; the API's GC pauses, ms: {Each(run.Usage, s => s.ServiceGcPause?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "-")}" : "")
                + $"; PostgreSQL's most common wait (sessions): {Each(run.Usage, s => s.TopWait is { } w ? $"{w.Event}×{w.Sessions.ToString("0.0", CultureInfo.InvariantCulture)}" : "-")}");
            report.Add(new Cost("e. half load", target.Name, o.PerSecond(o.InWindowAll()), achieved, run.Usage, probe.Names));
            var seconds = run.Usage.BySecond;
            timeline.Add(($"{target.Name}: slowest request, ms", o.SlowestMillisBySecond().Select(ms => ms.ToString("0", CultureInfo.InvariantCulture)).ToList()));
            timeline.Add(($"{target.Name}: machine CPU busy, cores", seconds.Select(x => x.BusyCores.ToString("0.0", CultureInfo.InvariantCulture)).ToList()));
            timeline.Add(($"{target.Name}: disk busy, ms", seconds.Select(x => x.Disk.BusyMs.ToString(CultureInfo.InvariantCulture)).ToList()));
            timeline.Add(($"{target.Name}: disk ms per write", seconds.Select(x => PerOp(x.Disk.WriteMs, x.Disk.Writes)).ToList()));
            timeline.Add(($"{target.Name}: longest oversleep of a 1 ms sleep, ms", seconds.Select(x => x.LongestHiccup.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)).ToList()));
            await CheckLockPoolAsync("e. half load", side, run);
        }

        report.AddTimeline(
            "Half load, second by second (the slowest request of each second by when it was due; a tail that comes from a stall of the "
            + "host, such as a disk write held for hundreds of ms, shows in one or two seconds, one from too little CPU in all of them):",
            timeline);
        var (a, r) = (p99[_api], p99[_reference]);
        string how = options.HalfLoadRate is null ? "half of each one's (a)" : "--half-load-rate";
        report.Add(new Row($"e. half load: lock at {Report.Rate(a.Rate)} / {Report.Rate(r.Rate)} requests/s ({how}), p50 / p99",
            $"{Report.Millis(a.Lock50)} / {Report.Millis(a.Lock99)}", $"{Report.Millis(r.Lock50)} / {Report.Millis(r.Lock99)}", "", "", "p99 < 20 ms", a.Lock99 < 20));
        report.Add(new Row("e. half load: redeem, p50 / p99",
            $"{Report.Millis(a.Redeem50)} / {Report.Millis(a.Redeem99)}", $"{Report.Millis(r.Redeem50)} / {Report.Millis(r.Redeem99)}", "", "", "p99 < 20 ms", a.Redeem99 < 20));
    }

    /// <summary>
    /// b. Every connection on the same few coupons: lock, unlock and redeem at random (mostly refused); every success recorded
    /// once. A coupon that reaches its last redemption (REDEEMED for good, so every later request would be an easy refusal)
    /// hands its slot to a fresh coupon, so the mix stays the same for the whole run whatever the speed.
    /// </summary>
    private async Task HotSetAsync()
    {
        var rates = new Dictionary<Side, double>();
        int coupons = options.Hot * HotGenerations;
        foreach (var side in new[] { _api, _reference })
        {
            var target = side.Target;
            var successes = new long[coupons * 3];
            var generation = new int[options.Hot];
            await SettleAsync($"hot set on {target.Name}");
            var run = await Driver.ClosedLoopAsync(options.Connections, options.Warmup, options.Duration, probe, async (log, window) =>
            {
                int h = Random.Shared.Next(options.Hot);
                int g = Volatile.Read(ref generation[h]);
                int i = g * options.Hot + h;
                double pick = Random.Shared.NextDouble();
                var (op, verb) = pick < LockShare ? (Op.Lock, "lock") : pick < LockShare + UnlockShare ? (Op.Unlock, "unlock") : (Op.Redeem, "redeem");
                long start = Now;
                int status = await target.SendAsync(Post, $"/api/v1/coupons/{side.HotCode(i)}/{verb}", Bearer(i));
                long end = Now;
                log.Record(op, status, start, end, window, end);
                if (status == 200 && Interlocked.Increment(ref successes[i * 3 + (int)op]) == HotMaxRedemptions && op == Op.Redeem && g + 1 < HotGenerations)
                {
                    Interlocked.CompareExchange(ref generation[h], g + 1, g);
                }

                return true;
            });
            var o = run.Outcome;
            rates[side] = o.PerSecond(o.InWindowAll());
            long ok = o.InWindow(Op.Lock, 200) + o.InWindow(Op.Unlock, 200) + o.InWindow(Op.Redeem, 200);
            Console.Error.WriteLine($"load: hot set {target.Name}: {rates[side]:0} requests/s ({o.PerSecond(ok):0} successful/s, coupons used per slot up to {generation.Max() + 1}); "
                + $"lock {o.Statuses(Op.Lock)}; unlock {o.Statuses(Op.Unlock)}; redeem {o.Statuses(Op.Redeem)}");
            report.Add(new Cost("b. hot set", target.Name, rates[side], o.PerSecond(ok), run.Usage, probe.Names));

            string scenario = $"b. hot set, {target.Name}";
            report.Add(new Check(scenario, "answers other than 200 and 409", "none", o.Unexpected(200, 409), o.Unexpected(200, 409) == "none"));
            int spent = Enumerable.Range(0, options.Hot)
                .Count(h => generation[h] == HotGenerations - 1 && successes[((HotGenerations - 1) * options.Hot + h) * 3 + 2] >= HotMaxRedemptions);
            report.Add(new Check(scenario, "hot-set slots left without a fresh coupon (the mix stayed the same)", "0", spent.ToString(CultureInfo.InvariantCulture), spent == 0));
            var codes = Enumerable.Range(0, coupons).Select(side.HotCode).ToArray();
            var history = await db.CouponHistoryAsync(codes);
            long wrong = 0, overRedeemed = 0, inconsistent = 0;
            for (int i = 0; i < coupons; i++)
            {
                var (locks, unlocks, redeems, count, state) = history[codes[i]];
                if (locks != successes[i * 3] || unlocks != successes[i * 3 + 1] || redeems != successes[i * 3 + 2])
                {
                    wrong++;
                }

                if (count > HotMaxRedemptions || count != redeems)
                {
                    overRedeemed++;
                }

                if (locks - unlocks - redeems != (state == 2 ? 1 : 0))
                {
                    inconsistent++;
                }
            }

            long answered = successes.Sum();
            long recorded = history.Values.Sum(v => v.Locks + v.Unlocks + v.Redeems);
            report.Add(new Check(scenario, "history rows (lock+unlock+redeem) = 200 answers", Report.Rate(answered), Report.Rate(recorded), answered == recorded));
            report.Add(new Check(scenario, "coupons whose history differs from their 200s, per action", "0", wrong.ToString(CultureInfo.InvariantCulture), wrong == 0));
            report.Add(new Check(scenario, $"coupons with redemptionCount ≠ redeem rows or > max ({HotMaxRedemptions})", "0", overRedeemed.ToString(CultureInfo.InvariantCulture), overRedeemed == 0));
            report.Add(new Check(scenario, "coupons whose state disagrees with locks − unlocks − redeems", "0", inconsistent.ToString(CultureInfo.InvariantCulture), inconsistent == 0));
            await CheckStatsAsync(scenario, side.HotBook);
        }

        double ratio = rates[_api] / rates[_reference];
        report.Add(new Row($"b. hot set ({options.Hot} coupons at a time, each replaced when it reaches its {HotMaxRedemptions:N0}th redemption; lock/unlock/redeem "
            + $"{LockShare:0%}/{UnlockShare:0%}/{1 - LockShare - UnlockShare:0%}, 64 closed loops), requests/s",
            Report.Rate(rates[_api]), Report.Rate(rates[_reference]), Report.Ratio(ratio), "", "≥ 3× reference", ratio >= 3));
    }

    /// <summary>c. GET of assigned coupons by their owners, 64 closed loops.</summary>
    private async Task GetAsync()
    {
        var results = new Dictionary<Side, (double Rate, double P50, double P99)>();
        foreach (var side in new[] { _api, _reference })
        {
            var target = side.Target;
            await SettleAsync($"get on {target.Name}");
            int swept = 0;
            var run = await Driver.ClosedLoopAsync(options.Connections, options.Warmup, options.Duration, probe, async (log, window) =>
            {
                // The warm-up reads every coupon once (in order) before reading at random: the window sees them all warm.
                int k = Now < window.Start && swept < options.GetCoupons ? Interlocked.Increment(ref swept) - 1 : -1;
                k = k >= 0 && k < options.GetCoupons ? k : Random.Shared.Next(options.GetCoupons);
                long start = Now;
                int status = await target.SendAsync(HttpMethod.Get, $"/api/v1/coupons/{side.GetCode(k)}", Bearer(k));
                long end = Now;
                log.Record(Op.Get, status, start, end, window, end);
                return true;
            });
            var o = run.Outcome;
            results[side] = (o.PerSecond(o.InWindow(Op.Get, 200)), o.Millis(Op.Get, 0.5), o.Millis(Op.Get, 0.99));
            Console.Error.WriteLine($"load: get {target.Name}: {results[side].Rate:0}/s, p50 {results[side].P50} ms, p99 {results[side].P99} ms; {o.Statuses(Op.Get)}");
            report.Add(new Cost("c. get", target.Name, o.PerSecond(o.InWindowAll()), 0, run.Usage, probe.Names));
            report.Add(new Check($"c. get, {target.Name}", "answers other than 200", "none", o.Unexpected(200), o.Unexpected(200) == "none"));
        }

        var (a, r) = (results[_api], results[_reference]);
        report.Add(new Row($"c. get ({Report.Rate(options.GetCoupons)} assigned coupons at random, 64 closed loops), requests/s",
            Report.Rate(a.Rate), Report.Rate(r.Rate), Report.Ratio(a.Rate / r.Rate), "", "≥ 2× reference", a.Rate >= 2 * r.Rate));
        report.Add(new Row("c. get, p50 / p99", $"{Report.Millis(a.P50)} / {Report.Millis(a.P99)}", $"{Report.Millis(r.P50)} / {Report.Millis(r.P99)}", "", "", "p99 < 10 ms", a.P99 < 10));
    }

    /// <summary>d. Random assignment on one book by all the users, each with its own token (the API only).</summary>
    private async Task AssignAsync()
    {
        var target = _api.Target;
        var perUser = new long[_users.Length];
        await SettleAsync("assign on CouponBooks");
        var run = await Driver.ClosedLoopAsync(options.Connections, options.Warmup, options.Duration, probe, async (log, window) =>
        {
            int u = Random.Shared.Next(_users.Length);
            long start = Now;
            int status = await target.SendAsync(Post, $"/api/v1/books/{_assignBook}/assignments", _bearers[u], EmptyObject);
            long end = Now;
            log.Record(Op.Assign, status, start, end, window, end);
            if (status == 201)
            {
                Interlocked.Increment(ref perUser[u]);
            }

            return status != 409; // 409 here is book-exhausted: the pool is too small for the run
        });
        var o = run.Outcome;
        double rate = o.PerSecond(o.InWindow(Op.Assign, 201));
        Console.Error.WriteLine($"load: assign: {rate:0}/s, p50 {o.Millis(Op.Assign, 0.5)} ms, p99 {o.Millis(Op.Assign, 0.99)} ms; {o.Statuses(Op.Assign)}");
        report.Add(new Cost("d. assign", target.Name, o.PerSecond(o.InWindowAll()), rate, run.Usage, probe.Names));
        report.Add(new Row($"d. assign (one book, {Report.Rate(_users.Length)} users with their own tokens, 64 closed loops), assignments/s; p50 / p99 {Report.Millis(o.Millis(Op.Assign, 0.5))} / {Report.Millis(o.Millis(Op.Assign, 0.99))}",
            Report.Rate(rate), "not implemented", "", "", "≥ 5,000/s", rate >= 5000));

        const string scenario = "d. assign, CouponBooks";
        report.Add(new Check(scenario, "answers other than 201", "none", o.Unexpected(201), o.Unexpected(201) == "none"));
        long created = o.Total(Op.Assign, 201);
        var counts = await db.BookCountsAsync(_assignBook);
        report.Add(new Check(scenario, "ASSIGNED coupons = 201 answers", Report.Rate(created), Report.Rate(counts.Assigned), counts.Assigned == created && counts.Locked + counts.Redeemed == 0));
        var history = await db.HistoryByActionAsync(_assignBook);
        report.Add(new Check(scenario, "assign history rows = 201 answers", Report.Rate(created), Report.Rate(history[0]), history[0] == created));
        var dbPerUser = await db.AssignedPerUserAsync(_assignBook);
        long usersOff = Enumerable.Range(0, _users.Length).Count(i => dbPerUser.GetValueOrDefault(_users[i]) != perUser[i]);
        report.Add(new Check(scenario, "users whose coupons in the book differ from their 201s", "0", usersOff.ToString(CultureInfo.InvariantCulture), usersOff == 0));
        long inconsistent = await db.InconsistentCouponsAsync(_assignBook);
        report.Add(new Check(scenario, "coupons whose history disagrees with their row", "0", inconsistent.ToString(CultureInfo.InvariantCulture), inconsistent == 0));
        await CheckStatsAsync(scenario, _assignBook, counts);
        if (run.RanOut)
        {
            report.Add(new Check(scenario, "free codes left at the end (--assign-codes large enough)", "> 0", "0", false));
        }
    }

    /// <summary>The lock-redeem book after a run: every 200 is one history row, no coupon redeemed twice, stats right.</summary>
    private async Task CheckLockPoolAsync(string scenarioName, Side side, Run run)
    {
        var o = run.Outcome;
        side.Locks += o.Total(Op.Lock, 200);
        side.Redeems += o.Total(Op.Redeem, 200);
        string scenario = $"{scenarioName}, {side.Target.Name}";
        report.Add(new Check(scenario, "answers other than 200", "none", o.Unexpected(200), o.Unexpected(200) == "none"));
        if (run.RanOut)
        {
            report.Add(new Check(scenario, "unused coupons left at the end (--pool large enough)", "> 0", "0", false));
        }

        var history = await db.HistoryByActionAsync(side.LockBook);
        report.Add(new Check(scenario, "lock history rows = 200 locks (all runs so far)", Report.Rate(side.Locks), Report.Rate(history[1]), history[1] == side.Locks));
        report.Add(new Check(scenario, "redeem history rows = 200 redeems (all runs so far)", Report.Rate(side.Redeems), Report.Rate(history[4]), history[4] == side.Redeems));
        var counts = await db.BookCountsAsync(side.LockBook);
        report.Add(new Check(scenario, "REDEEMED coupons = 200 redeems; LOCKED + REDEEMED = 200 locks", $"{Report.Rate(side.Redeems)}; {Report.Rate(side.Locks)}",
            $"{Report.Rate(counts.Redeemed)}; {Report.Rate(counts.Locked + counts.Redeemed)}", counts.Redeemed == side.Redeems && counts.Locked + counts.Redeemed == side.Locks));
        report.Add(new Check(scenario, "coupons redeemed more than once (redemptionCount > max = 1)", "0", counts.OverRedeemed.ToString(CultureInfo.InvariantCulture), counts.OverRedeemed == 0 && counts.MaxRedemptionCount <= 1));
        long inconsistent = await db.InconsistentCouponsAsync(side.LockBook);
        report.Add(new Check(scenario, "coupons whose history disagrees with their row", "0", inconsistent.ToString(CultureInfo.InvariantCulture), inconsistent == 0));
        await CheckStatsAsync(scenario, side.LockBook, counts);
    }

    /// <summary>The book's stats (book_stats plus pending deltas) against its coupons counted by state.</summary>
    private async Task CheckStatsAsync(string scenario, Guid bookId, BookCounts? counts = null)
    {
        counts ??= await db.BookCountsAsync(bookId);
        report.Add(new Check(scenario, "book stats (total/unassigned/assigned/locked/redeemed) = coupons by state", counts.Actual, counts.Stats, counts.Actual == counts.Stats));
    }

    private static string Each(Usage usage, Func<Second, string> show) => string.Join(" ", usage.BySecond.Select(show));

    private static string PerOp(long ms, long count) => count == 0 ? "-" : (ms / (double)count).ToString("0.0", CultureInfo.InvariantCulture);

    private async Task SettleAsync(string what)
    {
        var clock = Stopwatch.StartNew();
        bool checkpointed = await db.SettleAsync();
        Console.Error.WriteLine($"load: settled ({(checkpointed ? "vacuum + checkpoint" : "vacuum only, no CHECKPOINT privilege")}, {clock.Elapsed.TotalSeconds:0.0} s); {what}...");
    }

    private static string FindPgbench()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pgbench")).Where(File.Exists)
                .OrderByDescending(p => int.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(p))), out int v) ? v : 0).ToList()
            : [];
        return candidates.FirstOrDefault() ?? "pgbench";
    }

    private static string RandomTag() => string.Concat(Enumerable.Range(0, 4).Select(_ => (char)('A' + Random.Shared.Next(26))));

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex LatencyLine();
}
