using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CouponBooks.Tests.Coupons;

/// <summary>
/// A lock of a coupon whose grain is not in memory is decided in its write statement (no read first): every answer,
/// history row and count must be what the grain gives for a coupon it has read.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class UnreadLockTests(ApiFixture api)
{
    [Fact]
    public async Task The_owner_locks_an_unread_coupon_for_the_books_ttl_with_one_history_row_and_counts()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user, bookId, code) = await CouponCalls.OwnedCouponAsync(api, 3, new { name = "Unread", lockTtlSeconds = 90 });
        await ForgetActivationsAsync();

        var before = DateTimeOffset.UtcNow;
        var locked = await CouponCalls.ActOkAsync(client, code, "lock");
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(("LOCKED", user.Id, bookId), (locked.GetProperty("state").GetString(), locked.GetProperty("userId").GetGuid(), locked.GetProperty("bookId").GetGuid()));
        var until = locked.GetProperty("lockedUntil").GetDateTimeOffset();
        Assert.InRange(until, before.AddSeconds(90).AddMilliseconds(-1), after.AddSeconds(90).AddMilliseconds(1));
        var history = await CouponCalls.HistoryAsync(client, code);
        var lockEntry = history[^1];
        Assert.Equal(new[] { "assign", "lock" }, history.Select(h => h.GetProperty("action").GetString()));
        Assert.Equal(("ASSIGNED", "LOCKED", user.Id, user.Id), (lockEntry.GetProperty("fromState").GetString(), lockEntry.GetProperty("toState").GetString(),
            lockEntry.GetProperty("userId").GetGuid(), lockEntry.GetProperty("actorId").GetGuid()));
        Assert.Equal(until, lockEntry.GetProperty("at").GetDateTimeOffset().AddSeconds(90));
        Assert.Equal(until, (await GetAsync(client, code)).GetProperty("lockedUntil").GetDateTimeOffset());
        var stats = (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats");
        Assert.Equal((3L, 2L, 0L, 1L, 0L), (stats.GetProperty("total").GetInt64(), stats.GetProperty("unassigned").GetInt64(),
            stats.GetProperty("assigned").GetInt64(), stats.GetProperty("locked").GetInt64(), stats.GetProperty("redeemed").GetInt64()));

        // The grain goes on from the row its lock wrote.
        Assert.Equal("REDEEMED", (await CouponCalls.ActOkAsync(client, code, "redeem")).GetProperty("state").GetString());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 1", code));
    }

    [Fact]
    public async Task An_admin_locks_anyones_unread_coupon_as_the_actor()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user, _, code) = await CouponCalls.OwnedCouponAsync(api);
        var adminId = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/users/me")).RootElement.GetProperty("id").GetGuid();
        await ForgetActivationsAsync();

        Assert.Equal("LOCKED", (await CouponCalls.ActOkAsync(admin, code, "lock")).GetProperty("state").GetString());

        var last = (await CouponCalls.HistoryAsync(client, code))[^1];
        Assert.Equal(("lock", user.Id, adminId), (last.GetProperty("action").GetString(), last.GetProperty("userId").GetGuid(), last.GetProperty("actorId").GetGuid()));
    }

    [Fact]
    public async Task Refusals_of_an_unread_coupon_are_the_ones_of_a_read_coupon_and_change_nothing()
    {
        using var admin = await api.AdminClientAsync();
        var (owner, _, bookId, code) = await CouponCalls.OwnedCouponAsync(api, 2);
        var (stranger, _) = await api.NewUserAsync();
        var (closedOwner, _, closedBook, closedCode) = await CouponCalls.OwnedCouponAsync(api, 1);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/books/{closedBook}", CouponCalls.Json("""{"validUntil":"2020-01-01T00:00:00Z"}"""))).StatusCode);
        var (_, unassigned) = await CouponCalls.BookWithCodesAsync(admin, 1);

        await ForgetActivationsAsync();
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(stranger, code, "lock"), HttpStatusCode.NotFound, "not-found");
        await ForgetActivationsAsync();
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(closedOwner, closedCode, "lock"), HttpStatusCode.Conflict, "book-not-active");
        await ForgetActivationsAsync();
        var notAssigned = await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(admin, unassigned[0], "lock"), HttpStatusCode.Conflict, "invalid-transition");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(admin, $"NO-SUCH-{Guid.NewGuid():N}", "lock"), HttpStatusCode.NotFound, "not-found");
        await CouponCalls.ActOkAsync(owner, code, "lock");
        await ForgetActivationsAsync();
        var alreadyLocked = await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(owner, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");

        Assert.Contains("UNASSIGNED", notAssigned.GetProperty("detail").GetString());
        Assert.Contains("LOCKED", alreadyLocked.GetProperty("detail").GetString());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 1", code));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code in ($1, $2) and action = 1",
            closedCode, unassigned[0]));
        Assert.Equal(("ASSIGNED", "UNASSIGNED"), ((await GetAsync(closedOwner, closedCode)).GetProperty("state").GetString(),
            (await GetAsync(admin, unassigned[0])).GetProperty("state").GetString()));
        var stats = (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats");
        Assert.Equal((1L, 0L, 1L), (stats.GetProperty("unassigned").GetInt64(), stats.GetProperty("assigned").GetInt64(), stats.GetProperty("locked").GetInt64()));
    }

    [Fact]
    public async Task An_unread_coupon_whose_lock_ran_out_is_locked_again_after_its_expiry_is_recorded()
    {
        var (client, user, _, code) = await CouponCalls.OwnedCouponAsync(api);
        await CouponCalls.ActOkAsync(client, code, "lock");
        // Run out, and not yet released by the sweep: the stored state is still LOCKED.
        await TestDb.ExecuteAsync(api.ConnectionString,
            "update coupons set locked_until = now() - interval '1 second', version = version + 1 where code = $1", code);
        await ForgetActivationsAsync();

        Assert.Equal("LOCKED", (await CouponCalls.ActOkAsync(client, code, "lock")).GetProperty("state").GetString());

        var actions = (await CouponCalls.HistoryAsync(client, code)).Select(h => h.GetProperty("action").GetString()).ToList();
        Assert.Equal(new[] { "assign", "lock", "expire", "lock" }, actions);
    }

    [Fact]
    public async Task Concurrent_locks_of_one_unread_coupon_lock_it_once()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api);
        await ForgetActivationsAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => CouponCalls.ActAsync(client, code, "lock")));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(19, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 1", code));
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, string code) =>
        JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;

    /// <summary>Drops every idle activation, the coupons' among them, so the next call finds its coupon unread.</summary>
    private Task ForgetActivationsAsync() =>
        api.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
