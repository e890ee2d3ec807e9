using CouponBooks.Books;
using CouponBooks.Pools;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace CouponBooks.Tests.Grains;

/// <summary>
/// A distribution job that a silo's death interrupted runs again under the same job id (the watchdog or the next
/// poll reactivates it elsewhere). These tests run the book's part of such a job twice, the first time cut short,
/// and check that the second run gives exactly the rest: nothing lost, nothing twice.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DistributionResumeTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.GrainFactory;

    [Fact]
    public async Task An_equal_distribution_run_again_for_its_job_gives_only_what_the_first_run_did_not()
    {
        var bookId = await BookWithCodesAsync(50, maxAssignmentsPerUser: null);
        var book = Grains.GetGrain<IBookGrain>(bookId);
        var members = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToArray();
        var spec = new DistributionSpec(bookId, DistributionMode.Equal, PerUser: 2, Total: 0, Seed: 1);
        var jobId = Guid.NewGuid();

        // The first run reached only the first half of the members before its silo died.
        var first = await book.DistributeAsync(members[..3], spec, dryRun: false, jobId, Guid.Empty);
        Assert.Equal(6, first.Value!.Assigned);

        var resumed = await book.DistributeAsync(members, spec, dryRun: false, jobId, Guid.Empty);

        Assert.Null(resumed.Refusal);
        Assert.Equal((12L, 12L, 0L, 0L, false), (resumed.Value!.Requested, resumed.Value.Assigned, resumed.Value.SkippedUserLimit, resumed.Value.SkippedBookLimit, resumed.Value.Exhausted));
        Assert.Equal(members.Order().Select(m => (m, 2L)), await CouponsPerUserAsync(bookId));
        Assert.Equal(12L, await TestDb.ScalarAsync<long>(fixture.ConnectionString, "select count(*) from coupon_history where job_id = $1 and action = 0", jobId));
        Assert.Equal(12, (await book.GetAsync())!.Stats.Assigned);
    }

    [Fact]
    public async Task A_random_distribution_run_again_after_it_finished_gives_nothing_more()
    {
        var bookId = await BookWithCodesAsync(40, maxAssignmentsPerUser: 3);
        var book = Grains.GetGrain<IBookGrain>(bookId);
        var members = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray();
        var spec = new DistributionSpec(bookId, DistributionMode.Random, PerUser: 1, Total: 12, Seed: 7);
        var jobId = Guid.NewGuid();

        var first = await book.DistributeAsync(members, spec, dryRun: false, jobId, Guid.Empty);
        var given = await CouponsPerUserAsync(bookId);
        // Its silo died after the last batch committed but before the job recorded success: the job runs again.
        var again = await book.DistributeAsync(members, spec, dryRun: false, jobId, Guid.Empty);

        Assert.Equal((12L, 12L), (first.Value!.Requested, first.Value.Assigned));
        Assert.Equal((12L, 12L, 7L), (again.Value!.Requested, again.Value.Assigned, again.Value.Seed));
        Assert.Equal(given, await CouponsPerUserAsync(bookId));
        Assert.Equal(12L, given.Sum(g => g.Count));
        Assert.All(given, g => Assert.InRange(g.Count, 1L, 3L));
        Assert.Equal(12, (await book.GetAsync())!.Stats.Assigned);
    }

    [Fact]
    public async Task Two_runs_of_one_job_at_once_give_each_member_its_coupons_once()
    {
        var bookId = await BookWithCodesAsync(5000, maxAssignmentsPerUser: null);
        var book = Grains.GetGrain<IBookGrain>(bookId);
        var members = Enumerable.Range(0, 2000).Select(_ => Guid.NewGuid()).ToArray();
        var spec = new DistributionSpec(bookId, DistributionMode.Equal, PerUser: 1, Total: 0, Seed: 3);
        var jobId = Guid.NewGuid();

        // The job resumed elsewhere while its first run was still going here: the second call joins the first.
        var runs = await Task.WhenAll(
            book.DistributeAsync(members, spec, dryRun: false, jobId, Guid.Empty),
            book.DistributeAsync(members, spec, dryRun: false, jobId, Guid.Empty));

        Assert.All(runs, run => Assert.Equal((2000L, 2000L, false), (run.Value!.Requested, run.Value.Assigned, run.Value.Exhausted)));
        Assert.Equal(members.Order().Select(m => (m, 1L)), await CouponsPerUserAsync(bookId));
        Assert.Equal(2000, (await book.GetAsync())!.Stats.Assigned);
    }

    [Fact]
    public async Task A_plan_of_far_more_coupons_than_the_book_has_gives_what_there_is()
    {
        var bookId = await BookWithCodesAsync(50, maxAssignmentsPerUser: null);
        var book = Grains.GetGrain<IBookGrain>(bookId);
        // 100,000 members, 1,000 each: a plan of 100 million coupons for a book of 50 codes.
        var members = Enumerable.Range(0, 100_000).Select(_ => Guid.NewGuid()).ToArray();
        var spec = new DistributionSpec(bookId, DistributionMode.Equal, PerUser: 1000, Total: 0, Seed: 5);

        var run = await book.DistributeAsync(members, spec, dryRun: false, Guid.NewGuid(), Guid.Empty);

        Assert.Equal((100_000_000L, 50L, true), (run.Value!.Requested, run.Value.Assigned, run.Value.Exhausted));
        // The members first in the plan's order got one each: the shortage falls evenly.
        Assert.All(await CouponsPerUserAsync(bookId), given => Assert.Equal(1L, given.Count));
    }

    [Fact]
    public void A_plan_is_drawn_only_as_far_as_coupons_are_given()
    {
        var members = Enumerable.Range(0, 100_000).Select(_ => Guid.NewGuid()).ToArray();
        var spec = new DistributionSpec(Guid.NewGuid(), DistributionMode.Equal, PerUser: 1000, Total: 0, Seed: 5);
        var plan = DistributionPlan.Make(members, spec, new BookSettings("Plan", null, null, null, 1, 300, null, null), new AssignmentCounts(), new Dictionary<Guid, int>());
        using var queue = new RecipientQueue(plan.Recipients());

        var drawn = new List<Guid>();
        while (drawn.Count < 3 && queue.TryPeek(out var user))
        {
            queue.Dequeue();
            drawn.Add(user);
        }

        queue.Again(drawn[0]);
        Assert.True(queue.TryPeek(out var next));
        Assert.Equal(100_000_000L, plan.Planned);
        Assert.Equal(members[..3], drawn);
        Assert.Equal(members[3], next);
    }

    private async Task<Guid> BookWithCodesAsync(int codes, int? maxAssignmentsPerUser)
    {
        var id = Guid.CreateVersion7();
        var created = await Grains.GetGrain<IBookGrain>(id).CreateAsync(new BookSettings("Resume test", null, maxAssignmentsPerUser, null, 1, 300, null, null));
        Assert.Null(created.Refusal);
        string pattern = $"D{Guid.NewGuid():N}"[..6].ToUpperInvariant() + "-#####";
        var generation = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost!.Services.GetRequiredService<CodeGeneration>();
        Assert.Equal(codes, await generation.RunAsync(Guid.NewGuid(), id, pattern, codes, null, CancellationToken.None));
        return id;
    }

    private async Task<List<(Guid User, long Count)>> CouponsPerUserAsync(Guid bookId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "select user_id, count(*) from coupons where book_id = $1 and user_id is not null group by user_id order by user_id", connection);
        command.Parameters.AddWithValue(bookId);
        var rows = new List<(Guid, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetGuid(0), reader.GetInt64(1)));
        }

        return rows;
    }
}
