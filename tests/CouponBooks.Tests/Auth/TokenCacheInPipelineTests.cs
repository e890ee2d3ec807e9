using System.Net;
using System.Text;
using CouponBooks.Api.Auth;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CouponBooks.Tests.Auth;

[Collection(ApiCollection.Name)]
public sealed class TokenCacheInPipelineTests(ApiFixture api)
{
    [Fact]
    public async Task Requests_with_the_same_token_are_answered_from_the_cache_and_a_disabled_user_is_still_refused()
    {
        var cache = Assert.Single(api.Factory.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>()
            .Get(JwtBearerDefaults.AuthenticationScheme).TokenHandlers.OfType<ValidatedTokenCache>());
        var (client, user) = await api.NewUserAsync();
        using var admin = await api.AdminClientAsync();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/me")).StatusCode);
        long before = cache.Hits;
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/me")).StatusCode);
        }

        Assert.Equal(3, cache.Hits - before);

        // A cached token of a user who is then disabled stops working at once.
        var disabled = await admin.PatchAsync($"/api/v1/users/{user.Id}", new StringContent("""{"disabled":true}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
