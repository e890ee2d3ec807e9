using System.Net;
using CouponBooks.Api.Http;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CouponBooks.Tests.Hardening;

/// <summary>The coupon-guessing defence at its default budget, which leaves room for a client's legitimate run of misses.</summary>
[Collection(ApiCollection.Name)]
public sealed class CouponMissDefaultsTests(ApiFixture api)
{
    [Fact]
    public void The_default_budget_is_1000_misses_per_15_minutes_in_code_and_in_appsettings()
    {
        var defaults = new RateLimitOptions().CouponMisses;
        Assert.Equal((1000, TimeSpan.FromMinutes(15)), (defaults.MaxMisses, defaults.Window));

        var configured = api.Factory.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value.CouponMisses;
        Assert.Equal((1000, TimeSpan.FromMinutes(15)), (configured.MaxMisses, configured.Window));
    }

    [Fact]
    public async Task A_hundred_concurrent_redeems_of_another_users_coupon_are_all_not_found()
    {
        var (owner, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);
        await CouponCalls.ActOkAsync(owner, code, "lock");
        var (other, _) = await api.NewUserAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => CouponCalls.ActAsync(other, code, "redeem")));

        foreach (var response in responses)
        {
            await ApiCalls.AssertProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        }

        var coupon = System.Text.Json.JsonDocument.Parse(await owner.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal(("LOCKED", 0), (coupon.GetProperty("state").GetString(), coupon.GetProperty("redemptionCount").GetInt32()));
    }
}
