using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Pools;

/// <summary>An Idempotency-Key on a distribution: the first response stands for 24 hours, refusals too, and the key is the caller's across endpoints.</summary>
[Collection(ApiCollection.Name)]
public sealed class DistributionKeyTests(ApiFixture api)
{
    [Fact]
    public async Task A_refused_keyed_distribution_repeats_its_refusal_after_the_book_opens_and_starts_nothing()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5, new { name = "Later", validFrom = "2099-01-01T00:00:00Z" });
        var (poolId, user) = await PoolWithOneMemberAsync(admin);
        string key = $"distribute-{Guid.NewGuid():N}";

        var first = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" });
        await ApiCalls.AssertProblemAsync(first, HttpStatusCode.Conflict, "book-not-active");
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/books/{bookId}", CouponCalls.Json("""{"validFrom":"2020-01-01T00:00:00Z"}"""))).StatusCode);
        var repeat = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" });

        Assert.Equal((HttpStatusCode.Conflict, await first.Content.ReadAsStringAsync()), (repeat.StatusCode, await repeat.Content.ReadAsStringAsync()));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
        var fresh = await BookCalls.WaitForJobAsync(admin, await DistributeAsync(admin, poolId, $"distribute-{Guid.NewGuid():N}", new { bookId, mode = "equal" }));
        Assert.Equal("succeeded", fresh.GetProperty("state").GetString());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task A_keyed_distribution_of_an_unknown_pool_repeats_not_found()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var poolId = Guid.NewGuid();
        string key = $"distribute-{Guid.NewGuid():N}";

        var first = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" });
        var repeat = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" });

        await ApiCalls.AssertProblemAsync(first, HttpStatusCode.NotFound, "not-found");
        Assert.Equal((HttpStatusCode.NotFound, await first.Content.ReadAsStringAsync()), (repeat.StatusCode, await repeat.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task A_key_used_for_a_coupon_command_is_reused_for_a_distribution_and_the_other_way_round()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (poolId, user) = await PoolWithOneMemberAsync(admin);
        string assignedFirst = $"k-{Guid.NewGuid():N}", distributedFirst = $"k-{Guid.NewGuid():N}";

        Assert.Equal(HttpStatusCode.Created, (await CouponCalls.AssignAsync(admin, bookId, user.Id, assignedFirst)).StatusCode);
        await ApiCalls.AssertProblemAsync(await DistributeAsync(admin, poolId, assignedFirst, new { bookId, mode = "equal" }), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        var job = await BookCalls.WaitForJobAsync(admin, await DistributeAsync(admin, poolId, distributedFirst, new { bookId, mode = "equal" }));
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(admin, bookId, user.Id, distributedFirst), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task A_distribution_key_stored_24_hours_ago_starts_a_new_job()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (poolId, user) = await PoolWithOneMemberAsync(admin);
        string key = $"distribute-{Guid.NewGuid():N}";
        var first = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" });
        await BookCalls.WaitForJobAsync(admin, first);

        await TestDb.ExecuteAsync(api.ConnectionString, "update idempotency_keys set created_at = now() - interval '24 hours 1 second' where key = $1", key);
        await DeactivateKeyAsync();
        var later = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" });
        var job = await BookCalls.WaitForJobAsync(admin, later);

        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        Assert.NotEqual(first.Headers.Location, later.Headers.Location);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from idempotency_keys where key = $1 and created_at > now() - interval '1 minute'", key));
    }

    [Fact]
    public async Task A_stored_key_whose_job_never_started_starts_that_job_once()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (poolId, user) = await PoolWithOneMemberAsync(admin);
        string used = $"distribute-{Guid.NewGuid():N}", orphaned = $"distribute-{Guid.NewGuid():N}";
        await BookCalls.WaitForJobAsync(admin, await DistributeAsync(admin, poolId, used, new { bookId, mode = "equal" }));

        // As a silo leaves it that stops after storing the key and before starting its job: the key names a job that does not exist.
        var jobId = Guid.NewGuid();
        await TestDb.ExecuteAsync(api.ConnectionString,
            """
            insert into idempotency_keys (caller_id, key, path, request_hash, outcome, trace_id)
            select caller_id, $2, path, request_hash, jsonb_build_object('value', jsonb_build_object('jobId', $3::text, 'dryRun', null), 'refusal', null), trace_id
            from idempotency_keys where key = $1
            """, used, orphaned, jobId.ToString());
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/jobs/{jobId}"), HttpStatusCode.NotFound, "not-found");
        var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => DistributeAsync(admin, poolId, orphaned, new { bookId, mode = "equal" })));
        var job = await BookCalls.WaitForJobAsync(admin, responses[0]);

        Assert.All(responses, r => Assert.Equal((HttpStatusCode.Accepted, $"/api/v1/jobs/{jobId}"), (r.StatusCode, r.Headers.Location?.ToString())));
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task A_dry_run_ignores_the_key()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (poolId, user) = await PoolWithOneMemberAsync(admin);
        string key = $"distribute-{Guid.NewGuid():N}";

        var preview = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" }, dryRun: true);
        var job = await BookCalls.WaitForJobAsync(admin, await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" }));
        var previewAgain = await DistributeAsync(admin, poolId, key, new { bookId, mode = "equal" }, dryRun: true);

        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Equal(1L, JsonDocument.Parse(await preview.Content.ReadAsStringAsync()).RootElement.GetProperty("assigned").GetInt64());
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, previewAgain.StatusCode);
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    private static async Task<HttpResponseMessage> DistributeAsync(HttpClient admin, Guid poolId, string key, object body, bool dryRun = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/pools/{poolId}/distributions{(dryRun ? "?dryRun=true" : "")}") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return await admin.SendAsync(request);
    }

    private async Task<(Guid PoolId, TestUser User)> PoolWithOneMemberAsync(HttpClient admin)
    {
        var created = await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Pool {Guid.NewGuid():N}" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var poolId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        var (_, user) = await api.NewUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members", new { userIds = new[] { user.Id } })).StatusCode);
        return (poolId, user);
    }

    /// <summary>Drops idle activations (the key's among them), so the next request reads the key from the database.</summary>
    private Task DeactivateKeyAsync() =>
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IGrainFactory>(api.Silo.Services)
            .GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
