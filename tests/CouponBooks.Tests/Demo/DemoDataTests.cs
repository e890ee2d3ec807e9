using CouponBooks.Api.Users;
using CouponBooks.Books;
using CouponBooks.Demo;
using CouponBooks.Pools;
using CouponBooks.Silo.Demo;
using CouponBooks.Tests.Infrastructure;
using CouponBooks.Users;
using Microsoft.Extensions.DependencyInjection;

namespace CouponBooks.Tests.Demo;

/// <summary>The demo command against a real silo on a fresh database: it loads the showcase once, exactly, and a repeat changes nothing.</summary>
public sealed class DemoDataTests : IAsyncLifetime
{
    private const string AdminEmail = "admin@example.com";

    private string _connectionString = null!;
    private string _clusterId = null!;
    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestPostgres.CreateDatabaseAsync();
        _clusterId = $"demo-{Guid.NewGuid():N}";
        _silo = await SiloProcess.StartAsync(_connectionString, _clusterId, new Dictionary<string, string>
        {
            ["Admin:Email"] = AdminEmail,
            ["Admin:Password"] = "admin-test-password",
        });
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task Demo_command_loads_the_showcase_once_and_a_second_run_changes_nothing()
    {
        await WaitForAdminAsync();

        var (firstExit, firstOutput) = await RunDemoAsync("Development");
        Assert.Equal(0, firstExit);
        Assert.Contains("demo: loaded 5 users, 4 books, 200 codes, 10 assigned coupons, 2 pools, 5 pool members.", firstOutput);
        Assert.Contains("admin@example.com      (the bootstrap administrator", firstOutput);

        await AssertShowcaseAsync();
        string before = await SnapshotAsync();

        var (secondExit, secondOutput) = await RunDemoAsync("Development");
        Assert.Equal(0, secondExit);
        Assert.Contains("nothing changed", secondOutput);
        Assert.Equal(before, await SnapshotAsync());

        var again = await Grains.GetGrain<IDemoDataGrain>(0).LoadAsync();
        Assert.True(again.AlreadyLoaded);
        Assert.Equal((0, 0, 0L, 0, 0, 0L), (again.UsersCreated, again.BooksCreated, again.CodesGenerated, again.CouponsAssigned, again.PoolsCreated, again.MembersAdded));
        Assert.Equal(before, await SnapshotAsync());

        // The published passwords pass the password policy and sign the demo users in.
        foreach (var user in DemoCatalog.Users)
        {
            Assert.True(user.Password.Length >= UserInput.MinPasswordLength, user.Email);
            var signIn = await Grains.GetGrain<IUserDirectoryGrain>(0).SignInAsync(user.Email, user.Password);
            Assert.Null(signIn.Refusal);
            Assert.Equal(UserRole.User, signIn.Value!.Role);
        }
    }

    [Fact]
    public async Task Demo_command_refuses_outside_Development_and_loads_nothing()
    {
        var (exit, output) = await RunDemoAsync("Production");

        Assert.Equal(2, exit);
        Assert.Contains("refused in the Production environment", output);
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from books"));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from users where email like '%@example.com' and role = 'USER'"));
    }

    [Fact]
    public async Task Two_loads_started_together_load_the_showcase_once()
    {
        var runs = await Task.WhenAll(RunDemoAsync("Development"), RunDemoAsync("Development"));

        Assert.All(runs, run => Assert.Equal(0, run.Exit));
        Assert.Single(runs, run => run.Output.Contains("demo: loaded 5 users, 4 books, 200 codes, 10 assigned coupons, 2 pools, 5 pool members."));
        Assert.Single(runs, run => run.Output.Contains("nothing changed"));
        await WaitForAdminAsync();
        await AssertShowcaseAsync();
    }

    [Fact]
    public async Task A_load_cut_short_is_completed_by_the_next_without_doubling_anything()
    {
        await WaitForAdminAsync();
        // What a first load had done when its silo died: Alice registered, the Coffee Club created with its
        // codes, and Alice's coupon given.
        var alice = DemoCatalog.Alice;
        Assert.Null((await Grains.GetGrain<IUserGrain>(alice.Id).RegisterAsync(new Registration(alice.Email, alice.Password, alice.DisplayName, UserRole.User))).Refusal);
        var coffee = Grains.GetGrain<IBookGrain>(DemoCatalog.CoffeeClub.Id);
        Assert.Null((await coffee.CreateAsync(DemoCatalog.CoffeeClub.Settings(DateTimeOffset.UtcNow))).Refusal);
        var job = await coffee.GenerateCodesAsync(DemoCatalog.CoffeeClub.Pattern, DemoCatalog.CoffeeClub.Codes);
        await WaitForJobAsync(job.Value);
        Assert.Null((await coffee.AssignRandomAsync(alice.Id, alice.Id, null)).Refusal);

        var report = await Grains.GetGrain<IDemoDataGrain>(0).LoadAsync();

        Assert.False(report.AlreadyLoaded);
        Assert.Equal((4, 3, 140L, 9, 2, 5L), (report.UsersCreated, report.BooksCreated, report.CodesGenerated, report.CouponsAssigned, report.PoolsCreated, report.MembersAdded));
        await AssertShowcaseAsync();
    }

    private IGrainFactory Grains => _silo.Services.GetRequiredService<IGrainFactory>();

    private async Task<(int Exit, string Output)> RunDemoAsync(string environment)
    {
        using var output = new StringWriter();
        int exit = await DemoCommand.RunAsync(
        [
            $"--environment={environment}",
            $"--ConnectionStrings:Postgres={_connectionString}",
            $"--Orleans:ClusterId={_clusterId}",
            $"--Orleans:ServiceId={_clusterId}",
            $"--Admin:Email={AdminEmail}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Orleans.Runtime.Silo=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ], output);
        return (exit, output.ToString());
    }

    private async Task AssertShowcaseAsync()
    {
        Assert.Equal(6L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from users"));
        Assert.Equal(
            ["admin@example.com ADMIN", "alice@example.com USER", "bob@example.com USER", "charlie@example.com USER", "diana@example.com USER", "eve@example.com USER"],
            await TestDb.StringsAsync(_connectionString, "select email || ' ' || role from users order by email"));

        Assert.Equal(
            [
                "Cinema Ten-Visit Pass per-user=1 total=- redemptions=10 ttl=300 codes=40",
                "Coffee Club per-user=2 total=- redemptions=1 ttl=300 codes=60",
                "Flash Sale per-user=- total=40 redemptions=1 ttl=30 codes=50",
                "Summer Send-off per-user=3 total=- redemptions=1 ttl=300 codes=50",
            ],
            await TestDb.StringsAsync(_connectionString, """
                select b.name || ' per-user=' || coalesce(b.max_assignments_per_user::text, '-') || ' total=' || coalesce(b.max_total_assignments::text, '-')
                       || ' redemptions=' || b.max_redemptions_per_coupon || ' ttl=' || b.lock_ttl_seconds
                       || ' codes=' || (select count(*) from coupons c where c.book_id = b.id)
                from books b order by b.name
                """));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(_connectionString,
            "select count(*) from books where valid_until > now() + interval '23 hours' and valid_until <= now() + interval '1 day'"));

        Assert.Equal(200L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupons"));
        Assert.Equal(190L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupons where state = 0 and user_id is null"));
        Assert.Equal(
            [
                "Cinema Ten-Visit Pass diana@example.com 1",
                "Cinema Ten-Visit Pass eve@example.com 1",
                "Coffee Club alice@example.com 1",
                "Coffee Club bob@example.com 2",
                "Coffee Club charlie@example.com 1",
                "Flash Sale bob@example.com 1",
                "Flash Sale charlie@example.com 1",
                "Summer Send-off alice@example.com 1",
                "Summer Send-off eve@example.com 1",
            ],
            await TestDb.StringsAsync(_connectionString, """
                select b.name || ' ' || u.email || ' ' || count(*)
                from coupons c join books b on b.id = c.book_id join users u on u.id = c.user_id
                where c.state = 1 group by b.name, u.email order by b.name, u.email
                """));

        // Each assignment went through the book's rules and left its history row, made by the user.
        Assert.Equal(10L, await TestDb.ScalarAsync<long>(_connectionString,
            "select count(*) from coupon_history h join coupons c on c.code = h.code where h.action = 0 and h.to_state = 1 and h.user_id = c.user_id and h.actor_id = c.user_id"));
        Assert.Equal(10L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupon_history"));

        var coffee = await Grains.GetGrain<IBookGrain>(DemoCatalog.CoffeeClub.Id).GetAsync();
        Assert.Equal(new BookStats(60, 56, 4, 0, 0), coffee!.Stats);

        Assert.Equal(
            ["Newcomers diana@example.com", "Newcomers eve@example.com", "Regulars alice@example.com", "Regulars bob@example.com", "Regulars charlie@example.com"],
            await TestDb.StringsAsync(_connectionString,
                "select p.name || ' ' || u.email from pool_members m join pools p on p.id = m.pool_id join users u on u.id = m.user_id order by p.name, u.email"));
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from pools"));
        Assert.Equal(3L, (await Grains.GetGrain<IPoolGrain>(DemoCatalog.Pools[0].Id).GetAsync())!.MemberCount);
        Assert.Equal(2L, (await Grains.GetGrain<IPoolGrain>(DemoCatalog.Pools[1].Id).GetAsync())!.MemberCount);
    }

    /// <summary>Everything a load writes, row by row.</summary>
    private async Task<string> SnapshotAsync() => string.Join("\n", await TestDb.StringsAsync(_connectionString, """
        select 'users ' || coalesce(string_agg(id || email || role || version, ',' order by id), '') from users
        union all select 'books ' || coalesce(string_agg(id || name || version || coalesce(valid_until::text, ''), ',' order by id), '') from books
        union all select 'coupons ' || coalesce(string_agg(code || state || coalesce(user_id::text, '') || version, ',' order by code), '') from coupons
        union all select 'history ' || count(*) || '/' || coalesce(max(id), 0) from coupon_history
        union all select 'pools ' || coalesce(string_agg(id || name, ',' order by id), '') from pools
        union all select 'members ' || coalesce(string_agg(pool_id::text || user_id, ',' order by pool_id, user_id), '') from pool_members
        union all select 'batches ' || count(*) from code_batches
        """));

    private async Task WaitForJobAsync(Guid jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await Grains.GetGrain<Jobs.IJobGrain>(jobId).GetAsync())?.State != Jobs.JobState.Succeeded)
        {
            Assert.True(DateTime.UtcNow < deadline, "The code generation job did not succeed.");
            await Task.Delay(100);
        }
    }

    private async Task WaitForAdminAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await Grains.GetGrain<IUserDirectoryGrain>(0).FindByEmailAsync(AdminEmail) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "The bootstrap administrator was not created.");
            await Task.Delay(100);
        }
    }
}
