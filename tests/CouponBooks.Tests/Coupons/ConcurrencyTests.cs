using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CouponBooks.Tests.Coupons;

/// <summary>The guarantees the product is chosen for, against the real cluster and database.</summary>
[Collection(ApiCollection.Name)]
public sealed class ConcurrencyTests(ApiFixture api)
{
    [Fact]
    public async Task Fifty_concurrent_assignments_by_one_user_with_a_limit_of_two_give_exactly_two()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 100, new { name = "Two each", maxAssignmentsPerUser = 2 });
        var (client, user) = await api.NewUserAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => CouponCalls.AssignAsync(client, bookId)));

        Assert.Equal(2, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.Conflict, "per-user-limit-reached");
        }

        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task Forty_users_at_once_on_a_book_limited_to_ten_get_exactly_ten()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 100, new { name = "Ten in all", maxTotalAssignments = 10 });
        var users = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => api.NewUserAsync()));

        var responses = await Task.WhenAll(users.Select(u => CouponCalls.AssignAsync(u.Client, bookId)));

        Assert.Equal(10, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.Conflict, "book-limit-reached");
        }

        Assert.Equal(10L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
    }

    [Fact]
    public async Task A_book_of_twenty_codes_and_sixty_users_gives_twenty_distinct_codes_then_is_exhausted()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, codes) = await CouponCalls.BookWithCodesAsync(admin, 20);
        var users = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => api.NewUserAsync()));

        var responses = await Task.WhenAll(users.Select(u => CouponCalls.AssignAsync(u.Client, bookId)));

        var given = new List<string>();
        foreach (var response in responses)
        {
            if (response.StatusCode == HttpStatusCode.Created)
            {
                given.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString()!);
            }
            else
            {
                await ApiCalls.AssertProblemAsync(response, HttpStatusCode.Conflict, "book-exhausted");
            }
        }

        Assert.Equal(codes.Order(), given.Order());
        Assert.Equal(20L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(distinct user_id) from coupons where book_id = $1", bookId));
        var stats = (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats");
        Assert.Equal((0L, 20L), (stats.GetProperty("unassigned").GetInt64(), stats.GetProperty("assigned").GetInt64()));
    }

    [Fact]
    public async Task A_hundred_concurrent_redeems_of_one_locked_coupon_redeem_it_once()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);
        await CouponCalls.ActOkAsync(client, code, "lock");

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => CouponCalls.ActAsync(client, code, "redeem")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.Conflict, "invalid-transition");
        }

        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 4", code));
        Assert.Equal(1, await TestDb.ScalarAsync<int>(api.ConnectionString, "select redemption_count from coupons where code = $1", code));
    }

    [Fact]
    public async Task A_burst_of_mixed_transitions_on_one_coupon_is_recorded_exactly_in_one_valid_chain_with_writes_shared()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = "Busy", maxRedemptionsPerCoupon = 1000 });
        int versionBefore = await TestDb.ScalarAsync<int>(api.ConnectionString, "select version from coupons where code = $1", code);
        string[] verbs = ["lock", "unlock", "redeem"];
        var calls = Enumerable.Range(0, 240).Select(i => (Verb: verbs[i % 3], Key: i % 2 == 0 ? $"busy-{i}" : null)).ToList();

        var responses = await Task.WhenAll(calls.Select(c => CouponCalls.ActAsync(client, code, c.Verb, c.Key)));

        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        var succeeded = await SuccessesByVerbAsync(responses, i => calls[i].Verb);
        int transitions = await AssertOneChainAsync(client, code, succeeded);

        // Changes decided while the coupon's previous write committed went out together: fewer writes than transitions.
        int writes = await TestDb.ScalarAsync<int>(api.ConnectionString, "select version from coupons where code = $1", code) - versionBefore;
        Assert.InRange(writes, 1, transitions - 1);

        // Each key answers its first outcome again, whether it changed the coupon or was refused.
        for (int i = 0; i < calls.Count; i += 2)
        {
            var replay = await CouponCalls.ActAsync(client, code, calls[i].Verb, calls[i].Key);
            Assert.Equal((responses[i].StatusCode, bodies[i]), (replay.StatusCode, await replay.Content.ReadAsStringAsync()));
        }
    }

    [Fact]
    public async Task A_burst_on_one_coupon_whose_row_moves_under_it_decides_the_void_writes_again_and_records_each_success_once()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = "Moved under", maxRedemptionsPerCoupon = 1000 });
        string[] verbs = ["lock", "unlock", "redeem"];

        // Another writer (as a second activation would) moves the row's version on while the burst runs: the write in
        // flight then does not apply, and it and every change decided on it are decided again on the row read anew.
        var burst = Task.WhenAll(Enumerable.Range(0, 180).Select(i => CouponCalls.ActAsync(client, code, verbs[i % 3])));
        for (int bump = 0; bump < 6 && !burst.IsCompleted; bump++)
        {
            await TestDb.ExecuteAsync(api.ConnectionString, "update coupons set version = version + 1 where code = $1", code);
            await Task.Delay(25);
        }

        var succeeded = await SuccessesByVerbAsync(await burst, i => verbs[i % 3]);
        await AssertOneChainAsync(client, code, succeeded);
        Assert.True(succeeded["lock"] > 0, "no lock succeeded");
    }

    [Fact]
    public async Task A_coupon_whose_row_never_takes_a_write_answers_503_with_retry_after_changes_nothing_and_keeps_the_key_free()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = "Never written" });

        // As if another writer always got there first: every conditional update of this row applies to nothing.
        var busy = await TestDb.WhileCouponTriggerAsync(api.ConnectionString, code, "return null;",
            () => CouponCalls.ActAsync(client, code, "lock", key: "busy-lock"));

        var problem = await ApiCalls.AssertProblemAsync(busy, HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal("The coupon kept changing while this request was being decided, so nothing was changed; send it again.", problem.GetProperty("detail").GetString());
        Assert.Equal("1", busy.Headers.RetryAfter?.ToString());
        Assert.Equal(["assign"], (await CouponCalls.HistoryAsync(client, code)).Select(h => h.GetProperty("action").GetString()));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from idempotency_keys where key = 'busy-lock'"));

        // The key was not spent on the failure: sent again, the same request locks the coupon.
        var again = await CouponCalls.ActAsync(client, code, "lock", key: "busy-lock");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("LOCKED", JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Limits_hold_exactly_after_every_grain_is_deactivated_between_requests()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 50, new { name = "Rebuilt", maxAssignmentsPerUser = 3, maxTotalAssignments = 5 });
        var (client, _) = await api.NewUserAsync();
        await CouponCalls.AssignOkAsync(client, bookId);
        await CouponCalls.AssignOkAsync(client, bookId);

        await DeactivateEverythingAsync();

        await CouponCalls.AssignOkAsync(client, bookId);
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(client, bookId), HttpStatusCode.Conflict, "per-user-limit-reached");
        var (other, _) = await api.NewUserAsync();
        await CouponCalls.AssignOkAsync(other, bookId);

        await DeactivateEverythingAsync();

        await CouponCalls.AssignOkAsync(other, bookId);
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(other, bookId), HttpStatusCode.Conflict, "book-limit-reached");
        Assert.Equal(5L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
    }

    [Fact]
    public async Task A_redeemed_coupon_stays_redeemed_after_deactivation()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);
        await CouponCalls.ActOkAsync(client, code, "lock");
        await CouponCalls.ActOkAsync(client, code, "redeem");

        await DeactivateEverythingAsync();

        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
        Assert.Equal("REDEEMED", JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}")).RootElement.GetProperty("state").GetString());
    }

    /// <summary>The 200s of a burst per verb; every other answer must be invalid-transition.</summary>
    private static async Task<Dictionary<string, int>> SuccessesByVerbAsync(IReadOnlyList<HttpResponseMessage> responses, Func<int, string> verbOf)
    {
        var succeeded = new Dictionary<string, int> { ["lock"] = 0, ["unlock"] = 0, ["redeem"] = 0 };
        for (int i = 0; i < responses.Count; i++)
        {
            if (responses[i].StatusCode == HttpStatusCode.OK)
            {
                succeeded[verbOf(i)]++;
            }
            else
            {
                await ApiCalls.AssertProblemAsync(responses[i], HttpStatusCode.Conflict, "invalid-transition");
            }
        }

        return succeeded;
    }

    /// <summary>
    /// The coupon's history after its assignment is one chain from ASSIGNED (each row leaves the state the one before
    /// reached) with one row per success of each verb, and the coupon reads as the chain ends; answers its length.
    /// </summary>
    private static async Task<int> AssertOneChainAsync(HttpClient client, string code, Dictionary<string, int> succeeded)
    {
        var history = await CouponCalls.HistoryAsync(client, code);
        Assert.Equal(("assign", "ASSIGNED"), (history[0].GetProperty("action").GetString(), history[0].GetProperty("toState").GetString()));
        var transitions = history.Skip(1).ToList();
        string state = "ASSIGNED";
        foreach (var entry in transitions)
        {
            Assert.Equal(state, entry.GetProperty("fromState").GetString());
            state = entry.GetProperty("toState").GetString()!;
        }

        Assert.Equal(succeeded, succeeded.Keys.ToDictionary(verb => verb, verb => transitions.Count(h => h.GetProperty("action").GetString() == verb)));
        var coupon = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal((state, succeeded["redeem"]), (coupon.GetProperty("state").GetString(), coupon.GetProperty("redemptionCount").GetInt32()));
        return transitions.Count;
    }

    private Task DeactivateEverythingAsync() =>
        api.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
