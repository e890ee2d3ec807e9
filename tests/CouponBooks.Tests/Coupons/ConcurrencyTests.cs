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
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        var (client, _) = await api.NewUserAsync();
        string code = (await CouponCalls.AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
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
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        var (client, _) = await api.NewUserAsync();
        string code = (await CouponCalls.AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
        await CouponCalls.ActOkAsync(client, code, "lock");
        await CouponCalls.ActOkAsync(client, code, "redeem");

        await DeactivateEverythingAsync();

        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, "lock"), HttpStatusCode.Conflict, "invalid-transition");
        Assert.Equal("REDEEMED", JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}")).RootElement.GetProperty("state").GetString());
    }

    private Task DeactivateEverythingAsync() =>
        api.Silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
