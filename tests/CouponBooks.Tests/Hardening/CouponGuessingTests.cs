using System.Net;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Hardening;

/// <summary>A user's misses on coupon codes (404) are counted: past 3 in an hour, further misses are 429; the owners are never slowed.</summary>
[Collection(HardeningCollection.Name)]
public sealed class CouponGuessingTests(HardeningFixture api)
{
    [Fact]
    public async Task Misses_past_the_limit_are_refused_until_the_window_moves_on_and_no_owner_is_slowed()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (owner, _) = await api.NewUserAsync();
        var (guesser, _) = await api.NewUserAsync();
        var (bystander, _) = await api.NewUserAsync();
        string ownersCode = (await CouponCalls.AssignOkAsync(owner, bookId)).GetProperty("code").GetString()!;
        string guessersCode = (await CouponCalls.AssignOkAsync(guesser, bookId)).GetProperty("code").GetString()!;

        // Three misses: someone else's code, and two codes that do not exist, by read, history and command.
        await ApiCalls.AssertProblemAsync(await guesser.GetAsync($"/api/v1/coupons/{ownersCode}"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await guesser.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}/history"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await guesser.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}"), HttpStatusCode.NotFound, "not-found");

        // The fourth is refused, until the oldest counted miss is an hour old.
        var refused = await guesser.GetAsync($"/api/v1/coupons/{ownersCode}");
        await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.Equal("3600", Assert.Single(refused.Headers.GetValues("Retry-After")));

        // The owner of the guessed code, the guesser's own coupon and other users are served as always.
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/api/v1/coupons/{ownersCode}")).StatusCode);
        await CouponCalls.ActOkAsync(owner, ownersCode, "lock");
        Assert.Equal(HttpStatusCode.OK, (await guesser.GetAsync($"/api/v1/coupons/{guessersCode}")).StatusCode);
        await CouponCalls.ActOkAsync(guesser, guessersCode, "lock");
        Assert.Equal(HttpStatusCode.OK, (await guesser.GetAsync($"/api/v1/coupons/{guessersCode}/history")).StatusCode);
        await ApiCalls.AssertProblemAsync(await bystander.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}"), HttpStatusCode.NotFound, "not-found");

        // Twenty minutes on: still refused, and the refused miss counts, so the wait is counted from the kept misses.
        api.MissClock.Advance(TimeSpan.FromMinutes(20));
        refused = await guesser.PostAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}/unlock", null);
        await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.Equal("2400", Assert.Single(refused.Headers.GetValues("Retry-After")));

        // An hour after the first misses only the refused one of minute 20 is still counted: two misses fit, the third is one too many.
        api.MissClock.Advance(TimeSpan.FromMinutes(40));
        await ApiCalls.AssertProblemAsync(await guesser.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await guesser.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}"), HttpStatusCode.NotFound, "not-found");
        refused = await guesser.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}");
        await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.Equal("3600", Assert.Single(refused.Headers.GetValues("Retry-After")));
    }

    [Fact]
    public async Task A_malformed_code_is_a_miss_too()
    {
        var (guesser, _) = await api.NewUserAsync();
        for (int i = 0; i < HardeningFixture.MissLimit; i++)
        {
            await ApiCalls.AssertProblemAsync(await guesser.GetAsync("/api/v1/coupons/%2A%2A"), HttpStatusCode.NotFound, "not-found");
        }

        await ApiCalls.AssertProblemAsync(await guesser.GetAsync("/api/v1/coupons/%2A%2A"), HttpStatusCode.TooManyRequests, "rate-limited");
    }

    [Fact]
    public async Task An_admin_who_sees_every_coupon_is_not_counted()
    {
        using var admin = await api.AdminClientAsync();
        for (int i = 0; i < HardeningFixture.MissLimit * 3; i++)
        {
            await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/coupons/NO-SUCH-{Guid.NewGuid():N}"), HttpStatusCode.NotFound, "not-found");
        }
    }
}
