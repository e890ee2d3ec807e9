using CouponBooks.Books;
using CouponBooks.Jobs;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace CouponBooks.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class CodeJobTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.GrainFactory;

    [Fact]
    public async Task A_generation_run_again_for_the_same_job_finds_its_batch_and_adds_nothing()
    {
        var bookId = await CreateBookAsync();
        var generation = SiloService<CodeGeneration>();
        var jobId = Guid.NewGuid();
        string pattern = $"R{Guid.NewGuid():N}"[..6].ToUpperInvariant() + "-#####";

        Assert.Equal(300, await generation.RunAsync(jobId, bookId, pattern, 300, null, CancellationToken.None));
        Assert.Equal(300, await generation.RunAsync(jobId, bookId, pattern, 300, null, CancellationToken.None));

        Assert.Equal(300, await BookCalls.CountCodesAsync(fixture.ConnectionString, bookId));
        Assert.Equal(300, (await Grains.GetGrain<IBookGrain>(bookId).GetAsync())!.Stats.Total);
    }

    [Fact]
    public async Task Of_two_jobs_that_together_pass_the_capacity_one_fails_and_stores_nothing()
    {
        var bookId = await CreateBookAsync();
        string pattern = $"C{Guid.NewGuid():N}"[..6].ToUpperInvariant() + "##";   // 100 codes, 50 usable
        var book = Grains.GetGrain<IBookGrain>(bookId);
        Guid[] jobIds;

        // Hold the pattern's counter row so both requests pass the check before either job writes.
        await using (var connection = new Npgsql.NpgsqlConnection(fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var hold = new Npgsql.NpgsqlCommand(
                "insert into pattern_counters (pattern, key) values ($1, $2)", connection, transaction))
            {
                hold.Parameters.AddWithValue(pattern);
                hold.Parameters.AddWithValue(new byte[32]);
                await hold.ExecuteNonQueryAsync();
            }

            var first = await book.GenerateCodesAsync(pattern, 40);
            var second = await book.GenerateCodesAsync(pattern, 40);
            Assert.Null(first.Refusal);
            Assert.Null(second.Refusal);
            await transaction.CommitAsync();
            jobIds = [first.Value, second.Value];
        }

        var jobs = await Task.WhenAll(jobIds.Select(WaitAsync));

        Assert.Single(jobs, j => j.State == JobState.Succeeded);
        var failed = Assert.Single(jobs, j => j.State == JobState.Failed);
        Assert.Equal(ErrorCode.PatternCapacityExceeded, failed.Error!.Code);
        Assert.Equal(40, await BookCalls.CountCodesAsync(fixture.ConnectionString, bookId));
        Assert.Equal(40, (await book.GetAsync())!.Stats.Unassigned);
    }

    private async Task<JobView> WaitAsync(Guid jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = await Grains.GetGrain<IJobGrain>(jobId).GetAsync();
            if (job is { State: JobState.Succeeded or JobState.Failed })
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {jobId} did not finish");
            await Task.Delay(50);
        }
    }

    private async Task<Guid> CreateBookAsync()
    {
        var id = Guid.CreateVersion7();
        var created = await Grains.GetGrain<IBookGrain>(id).CreateAsync(new BookSettings("Job test", null, null, null, 1, 300, null, null));
        Assert.Null(created.Refusal);
        return id;
    }

    private T SiloService<T>()
        where T : notnull => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost!.Services.GetRequiredService<T>();
}
