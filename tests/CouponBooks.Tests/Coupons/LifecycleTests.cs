using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Coupons;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CouponBooks.Tests.Coupons;

[Collection(ApiCollection.Name)]
public sealed class LifecycleTests(ApiFixture api)
{
    [Fact]
    public async Task A_user_assigns_locks_and_redeems_a_coupon_and_every_step_is_in_its_history()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, codes) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (client, user) = await api.NewUserAsync();

        var assigned = await CouponCalls.AssignOkAsync(client, bookId);
        string code = assigned.GetProperty("code").GetString()!;
        Assert.Contains(code, codes);
        Assert.Equal(bookId, assigned.GetProperty("bookId").GetGuid());
        Assert.Equal("ASSIGNED", assigned.GetProperty("state").GetString());
        Assert.Equal(user.Id, assigned.GetProperty("userId").GetGuid());
        Assert.Equal(JsonValueKind.Null, assigned.GetProperty("lockedUntil").ValueKind);
        Assert.Equal(JsonValueKind.Null, assigned.GetProperty("redeemedAt").ValueKind);
        Assert.Equal(0, assigned.GetProperty("redemptionCount").GetInt32());

        var locked = await CouponCalls.ActOkAsync(client, code.ToLowerInvariant(), "lock");
        Assert.Equal("LOCKED", locked.GetProperty("state").GetString());
        var lockedUntil = locked.GetProperty("lockedUntil").GetDateTimeOffset();
        Assert.InRange(lockedUntil - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(290), TimeSpan.FromSeconds(301));

        var redeemed = await CouponCalls.ActOkAsync(client, code, "redeem");
        Assert.Equal("REDEEMED", redeemed.GetProperty("state").GetString());
        Assert.Equal(1, redeemed.GetProperty("redemptionCount").GetInt32());
        Assert.Equal(JsonValueKind.String, redeemed.GetProperty("redeemedAt").ValueKind);

        var history = await CouponCalls.HistoryAsync(client, code);
        Assert.Equal(new[] { ("assign", "UNASSIGNED", "ASSIGNED"), ("lock", "ASSIGNED", "LOCKED"), ("redeem", "LOCKED", "REDEEMED") },
            history.Select(h => (h.GetProperty("action").GetString()!, h.GetProperty("fromState").GetString()!, h.GetProperty("toState").GetString()!)));
        Assert.All(history, h => Assert.Equal(user.Id, h.GetProperty("userId").GetGuid()));
        Assert.All(history, h => Assert.Equal(user.Id, h.GetProperty("actorId").GetGuid()));

        var stats = (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats");
        Assert.Equal((5L, 4L, 0L, 0L, 1L), (stats.GetProperty("total").GetInt64(), stats.GetProperty("unassigned").GetInt64(),
            stats.GetProperty("assigned").GetInt64(), stats.GetProperty("locked").GetInt64(), stats.GetProperty("redeemed").GetInt64()));
        Assert.Equal(3L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1", code));
    }

    [Fact]
    public async Task Only_the_owner_or_an_admin_sees_or_acts_on_a_coupon()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 3);
        var (owner, _) = await api.NewUserAsync();
        var (stranger, _) = await api.NewUserAsync();
        string code = (await CouponCalls.AssignOkAsync(owner, bookId)).GetProperty("code").GetString()!;

        await ApiCalls.AssertProblemAsync(await stranger.GetAsync($"/api/v1/coupons/{code}"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(stranger, code, "lock"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await stranger.GetAsync($"/api/v1/coupons/{code}/history"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await owner.GetAsync("/api/v1/coupons/NO-SUCH-CODE-1"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await owner.GetAsync("/api/v1/coupons/!!"), HttpStatusCode.NotFound, "not-found");

        // An admin acts on the owner's behalf; the history names both.
        var locked = await CouponCalls.ActOkAsync(admin, code, "lock");
        Assert.Equal("LOCKED", locked.GetProperty("state").GetString());
        var me = await admin.GetFromJsonAsync<UserBody>("/api/v1/users/me");
        var last = (await CouponCalls.HistoryAsync(owner, code))[^1];
        Assert.Equal(me!.Id, last.GetProperty("actorId").GetGuid());
        Assert.NotEqual(me.Id, last.GetProperty("userId").GetGuid());
    }

    [Fact]
    public async Task Moves_out_of_order_are_invalid_transitions_naming_the_current_state()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 2);

        var redeem = await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "redeem"), HttpStatusCode.Conflict, "invalid-transition");
        Assert.Contains("ASSIGNED", redeem.GetProperty("detail").GetString());
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "unlock"), HttpStatusCode.Conflict, "invalid-transition");

        await CouponCalls.ActOkAsync(client, code, "lock");
        var again = await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
        Assert.Contains("LOCKED", again.GetProperty("detail").GetString());
        Assert.Equal("ASSIGNED", (await CouponCalls.ActOkAsync(client, code, "unlock")).GetProperty("state").GetString());

        await CouponCalls.ActOkAsync(client, code, "lock");
        await CouponCalls.ActOkAsync(client, code, "redeem");
        var done = await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
        Assert.Contains("REDEEMED", done.GetProperty("detail").GetString());
        Assert.Equal(5L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1", code));
    }

    [Fact]
    public async Task A_multi_redemption_coupon_returns_to_assigned_until_its_count_is_reached()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = "Three times", maxRedemptionsPerCoupon = 3 });

        for (int i = 1; i <= 3; i++)
        {
            await CouponCalls.ActOkAsync(client, code, "lock");
            var redeemed = await CouponCalls.ActOkAsync(client, code, "redeem");
            Assert.Equal(i, redeemed.GetProperty("redemptionCount").GetInt32());
            Assert.Equal(i < 3 ? "ASSIGNED" : "REDEEMED", redeemed.GetProperty("state").GetString());
        }

        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
    }

    [Fact]
    public async Task A_fully_redeemed_coupon_leaves_memory_and_reads_the_same_from_its_row()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = "Twice", maxRedemptionsPerCoupon = 2 });
        var management = api.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var grainId = api.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<ICouponGrain>(code).GetGrainId();
        async Task<bool> InMemoryAsync() => (await management.GetDetailedGrainStatistics()).Any(s => s.GrainId == grainId);

        // Redeemed once of twice: back to ASSIGNED, and still in memory.
        await CouponCalls.ActOkAsync(client, code, "lock");
        await CouponCalls.ActOkAsync(client, code, "redeem");
        await Task.Delay(500);
        Assert.True(await InMemoryAsync());

        // Redeemed for good: the activation goes at once, and the coupon reads the same from its row.
        await CouponCalls.ActOkAsync(client, code, "lock");
        var redeemed = await CouponCalls.ActOkAsync(client, code, "redeem");
        for (int i = 0; i < 100 && await InMemoryAsync(); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(await InMemoryAsync());
        var read = await client.GetFromJsonAsync<JsonElement>($"/api/v1/coupons/{code}");
        Assert.Equal(redeemed.GetRawText(), read.GetRawText());
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
        Assert.Equal(5, (await CouponCalls.HistoryAsync(client, code)).Count);
    }

    [Fact]
    public async Task A_lock_released_by_a_sweep_whose_clock_runs_ahead_is_lock_expired_for_a_redeem()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);
        await CouponCalls.ActOkAsync(client, code, "lock");

        // What the sweep writes when PostgreSQL's clock is ahead of the silo's: ASSIGNED, the lock's end kept (still
        // in the future by the silo's clock).
        await TestDb.ExecuteAsync(api.ConnectionString, "update coupons set state = 1, version = version + 1 where code = $1", code);

        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "redeem"), HttpStatusCode.Conflict, "lock-expired");
        Assert.Equal("LOCKED", (await CouponCalls.ActOkAsync(client, code, "lock")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_lock_runs_out_by_itself_and_then_redeem_is_lock_expired_until_locked_again()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user, bookId, code) = await CouponCalls.OwnedCouponAsync(api, 1, new { name = "Short lock", lockTtlSeconds = 5 });
        var locked = await CouponCalls.ActOkAsync(client, code, "lock");
        Assert.InRange(locked.GetProperty("lockedUntil").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(6));

        await Task.Delay(TimeSpan.FromSeconds(5.5));

        var read = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal("ASSIGNED", read.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("lockedUntil").ValueKind);
        var listed = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/users/me/coupons?bookId={bookId}")).RootElement.GetProperty("items")[0];
        Assert.Equal("ASSIGNED", listed.GetProperty("state").GetString());
        Assert.Equal(0, (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats").GetProperty("locked").GetInt64());

        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "redeem"), HttpStatusCode.Conflict, "lock-expired");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "unlock"), HttpStatusCode.Conflict, "invalid-transition");

        var expire = (await CouponCalls.HistoryAsync(client, code)).Single(h => h.GetProperty("action").GetString() == "expire");
        Assert.Equal(JsonValueKind.Null, expire.GetProperty("actorId").ValueKind);
        Assert.Equal(user.Id, expire.GetProperty("userId").GetGuid());
        Assert.Equal(("LOCKED", "ASSIGNED"), (expire.GetProperty("fromState").GetString(), expire.GetProperty("toState").GetString()));

        await CouponCalls.ActOkAsync(client, code, "lock");
        Assert.Equal("REDEEMED", (await CouponCalls.ActOkAsync(client, code, "redeem")).GetProperty("state").GetString());
        Assert.Single(await CouponCalls.HistoryAsync(client, code), h => h.GetProperty("action").GetString() == "expire");
    }

    [Fact]
    public async Task Outside_the_validity_window_nothing_is_assigned_locked_or_redeemed_but_a_lock_can_be_given_back()
    {
        using var admin = await api.AdminClientAsync();
        var (client, _, bookId, code) = await CouponCalls.OwnedCouponAsync(api, 2);
        await CouponCalls.ActOkAsync(client, code, "lock");

        var patch = await admin.PatchAsync($"/api/v1/books/{bookId}", CouponCalls.Json("""{"validUntil":"2020-01-01T00:00:00Z"}"""));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);

        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(client, bookId), HttpStatusCode.Conflict, "book-not-active");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "redeem"), HttpStatusCode.Conflict, "book-not-active");
        var unlocked = await CouponCalls.ActOkAsync(client, code, "unlock");
        Assert.Equal(("ASSIGNED", JsonValueKind.Null), (unlocked.GetProperty("state").GetString(), unlocked.GetProperty("lockedUntil").ValueKind));
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "book-not-active");
        Assert.Equal(["assign", "lock", "unlock"], (await CouponCalls.HistoryAsync(client, code)).Select(h => h.GetProperty("action").GetString()));
    }

    [Fact]
    public async Task An_admin_acting_on_an_unassigned_coupon_is_told_its_state_and_anyone_else_gets_404()
    {
        using var admin = await api.AdminClientAsync();
        var (_, codes) = await CouponCalls.BookWithCodesAsync(admin, 1);
        var (stranger, _) = await api.NewUserAsync();

        foreach (var (verb, needed) in new[] { ("lock", "only an ASSIGNED coupon can be locked"), ("unlock", "only a LOCKED coupon can be unlocked"), ("redeem", "only a LOCKED coupon can be redeemed") })
        {
            var problem = await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(admin, codes[0], verb), HttpStatusCode.Conflict, "invalid-transition");
            Assert.Equal($"The coupon is UNASSIGNED; {needed}.", problem.GetProperty("detail").GetString());
            await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(stranger, codes[0], verb), HttpStatusCode.NotFound, "not-found");
        }

        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1", codes[0]));
        Assert.Equal("UNASSIGNED", JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/coupons/{codes[0]}")).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Per_user_and_per_book_limits_and_exhaustion_refuse_with_their_codes()
    {
        using var admin = await api.AdminClientAsync();
        var (perUserBook, _) = await CouponCalls.BookWithCodesAsync(admin, 5, new { name = "Two each", maxAssignmentsPerUser = 2 });
        var (client, _) = await api.NewUserAsync();
        await CouponCalls.AssignOkAsync(client, perUserBook);
        await CouponCalls.AssignOkAsync(client, perUserBook);
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(client, perUserBook), HttpStatusCode.Conflict, "per-user-limit-reached");

        var (totalBook, _) = await CouponCalls.BookWithCodesAsync(admin, 5, new { name = "One in all", maxTotalAssignments = 1 });
        await CouponCalls.AssignOkAsync(client, totalBook);
        var (other, _) = await api.NewUserAsync();
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(other, totalBook), HttpStatusCode.Conflict, "book-limit-reached");

        var (smallBook, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        await CouponCalls.AssignOkAsync(client, smallBook);
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(other, smallBook), HttpStatusCode.Conflict, "book-exhausted");
    }

    [Fact]
    public async Task A_user_may_not_assign_to_another_user_but_an_admin_may()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 3);
        var (client, _) = await api.NewUserAsync();
        var (_, other) = await api.NewUserAsync();

        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(client, bookId, other.Id), HttpStatusCode.Forbidden, "forbidden");
        var given = await CouponCalls.AssignOkAsync(admin, bookId, other.Id);
        Assert.Equal(other.Id, given.GetProperty("userId").GetGuid());
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(admin, bookId, Guid.NewGuid()), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(admin, Guid.NewGuid()), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Specific_assignment_gives_that_code_within_limits()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, codes) = await CouponCalls.BookWithCodesAsync(admin, 3, new { name = "One each", maxAssignmentsPerUser = 1 });
        var (otherBook, otherCodes) = await CouponCalls.BookWithCodesAsync(admin, 1);
        var (_, user) = await api.NewUserAsync();

        var response = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{codes[1].ToLowerInvariant()}", new { userId = user.Id });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var coupon = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((codes[1], user.Id), (coupon.GetProperty("code").GetString(), coupon.GetProperty("userId").GetGuid()));

        var (_, second) = await api.NewUserAsync();
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{codes[1]}", new { userId = second.Id }), HttpStatusCode.Conflict, "coupon-not-available");
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{codes[2]}", new { userId = user.Id }), HttpStatusCode.Conflict, "per-user-limit-reached");
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{otherCodes[0]}", new { userId = second.Id }), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{codes[2]}", new { }), HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal("UNASSIGNED", (await TestDb.StringsAsync(api.ConnectionString,
            "select (array['UNASSIGNED','ASSIGNED','LOCKED','REDEEMED'])[state + 1] from coupons where code = $1", otherCodes[0]))[0]);
        _ = otherBook;
    }

    [Fact]
    public async Task My_coupons_and_a_users_coupons_list_what_they_hold()
    {
        using var admin = await api.AdminClientAsync();
        var (bookA, _) = await CouponCalls.BookWithCodesAsync(admin, 3);
        var (bookB, _) = await CouponCalls.BookWithCodesAsync(admin, 3);
        var (client, user) = await api.NewUserAsync();
        string a = (await CouponCalls.AssignOkAsync(client, bookA)).GetProperty("code").GetString()!;
        await CouponCalls.AssignOkAsync(client, bookB);
        await CouponCalls.ActOkAsync(client, a, "lock");

        async Task<int> Count(HttpClient c, string url) => JsonDocument.Parse(await c.GetStringAsync(url)).RootElement.GetProperty("items").GetArrayLength();
        Assert.Equal(2, await Count(client, "/api/v1/users/me/coupons"));
        Assert.Equal(1, await Count(client, $"/api/v1/users/me/coupons?bookId={bookA}"));
        Assert.Equal(1, await Count(client, "/api/v1/users/me/coupons?state=LOCKED"));
        Assert.Equal(2, await Count(admin, $"/api/v1/users/{user.Id}/coupons"));
        await ApiCalls.AssertProblemAsync(await client.GetAsync($"/api/v1/users/{user.Id}/coupons"), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/users/{Guid.NewGuid()}/coupons"), HttpStatusCode.NotFound, "not-found");
    }
}
