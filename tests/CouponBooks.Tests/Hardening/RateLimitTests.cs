using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Hardening;

/// <summary>The limits of <see cref="HardeningFixture"/>: 3 sign-ins per address and 3 coupon commands per user, each refilled by one an hour.</summary>
[Collection(HardeningCollection.Name)]
public sealed class RateLimitTests(HardeningFixture api)
{
    private static readonly string Hour = ((int)HardeningFixture.Period.TotalSeconds).ToString();

    [Fact]
    public async Task Register_and_login_from_one_address_stop_after_the_limit_with_rate_limited_and_retry_after()
    {
        var (_, existing) = await api.NewUserAsync();
        using var client = api.Client();

        var statuses = new List<HttpStatusCode>();
        var responses = new List<HttpResponseMessage>
        {
            await client.PostAsJsonAsync("/api/v1/auth/register", new { email = ApiCalls.NewEmail(), password = "correct-horse-battery" }),
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = existing.Email, password = existing.Password }),
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = existing.Email, password = "wrong-password-1" }),
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = existing.Email, password = existing.Password }),
            await client.PostAsJsonAsync("/api/v1/auth/register", new { email = ApiCalls.NewEmail(), password = "correct-horse-battery" }),
        };
        statuses.AddRange(responses.Select(r => r.StatusCode));

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        foreach (var refused in responses.Skip(3))
        {
            var problem = await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
            Assert.Equal(Hour, Assert.Single(refused.Headers.GetValues("Retry-After")));
        }

        // Another address is not held back, and the refused registration stored nothing.
        using var other = api.Client();
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsJsonAsync("/api/v1/auth/login", new { email = existing.Email, password = existing.Password })).StatusCode);
    }

    [Fact]
    public async Task Concurrent_sign_ins_from_one_address_pass_exactly_the_limit()
    {
        var (_, user) = await api.NewUserAsync();
        string address = HardeningFixture.NewAddress();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var client = api.Client(address);
            return await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = user.Password });
        }));

        Assert.Equal(HardeningFixture.SignInLimit, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(12 - HardeningFixture.SignInLimit, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        foreach (var refused in responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
        {
            await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
            Assert.Equal(Hour, Assert.Single(refused.Headers.GetValues("Retry-After")));
        }
    }

    [Fact]
    public async Task Coupon_commands_of_one_user_stop_after_the_limit_and_other_users_go_on()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 10);
        var (client, user) = await api.NewUserAsync();
        var (other, _) = await api.NewUserAsync();

        // Ten at once: the limiter lets exactly three through, whatever they then meet.
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => CouponCalls.AssignAsync(client, bookId)));

        Assert.Equal(HardeningFixture.CommandLimit, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(10 - HardeningFixture.CommandLimit, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        foreach (var refused in responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
        {
            var problem = await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
            Assert.Equal(Hour, Assert.Single(refused.Headers.GetValues("Retry-After")));
        }

        Assert.Equal(3L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));

        // Lock, unlock and redeem draw on the same budget; reads do not.
        string code = JsonDocument.Parse(await responses.First(r => r.StatusCode == HttpStatusCode.Created).Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString()!;
        foreach (string verb in new[] { "lock", "unlock", "redeem" })
        {
            await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(client, code, verb), HttpStatusCode.TooManyRequests, "rate-limited");
        }

        var coupon = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal("ASSIGNED", coupon.GetProperty("state").GetString());

        var theirs = await CouponCalls.AssignOkAsync(other, bookId);
        await CouponCalls.ActOkAsync(other, theirs.GetProperty("code").GetString()!, "lock");
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    public void A_client_is_counted_by_its_ipv4_address_or_its_ipv6_64_network(string address, string partition) =>
        Assert.Equal(partition, CouponBooks.Api.Http.RateLimits.ClientNetwork(IPAddress.Parse(address)));
}
