using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CouponBooks.Tests.Cluster;

/// <summary>Real silos with ADO.NET clustering, several on one machine, and the Api finding them through the membership table.</summary>
public sealed class ClusterTests
{
    [Fact]
    public async Task Two_silos_on_one_machine_form_one_cluster_and_the_api_survives_one_leaving()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"two-silos-{Guid.NewGuid():N}";
        var admin = new Dictionary<string, string> { ["Admin:Email"] = ApiFixture.AdminEmail, ["Admin:Password"] = ApiFixture.AdminPassword };
        await using var first = await SiloProcess.StartAsync(connectionString, clusterId, admin);
        await using var second = await SiloProcess.StartAsync(connectionString, clusterId, admin);
        Assert.NotEqual(first.SiloPort, second.SiloPort);

        var management = first.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        await Eventually(async () => (await management.GetHosts(onlyActive: true)).Count == 2, TimeSpan.FromSeconds(60));

        await using var factory = new ApiFixture.ApiFactory(ApiFixture.ApiSettings(connectionString, clusterId));
        using var client = factory.CreateClient();
        var user = await Eventually(() => TryRegisterAsync(client), TimeSpan.FromSeconds(30));
        var tokens = await ApiCalls.LoginAsync(client, user.Email, user.Password);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);

        await first.StopAsync();

        // The Api moves to the remaining silo; the user's grain is re-activated there from the database.
        var me = await Eventually(async () =>
        {
            var response = await client.GetAsync("/api/v1/users/me");
            return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<UserBody>() : null;
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(user.Id, me.Id);
    }

    [Fact]
    public async Task Without_a_silo_the_api_answers_503_and_recovers_when_one_starts()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"no-silo-{Guid.NewGuid():N}";
        await using var factory = new ApiFixture.ApiFactory(ApiFixture.ApiSettings(connectionString, clusterId));
        using var client = factory.CreateClient();
        var someone = Guid.NewGuid();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Sign(someone, "USER"));

        var started = DateTime.UtcNow;
        var unavailable = await client.GetAsync("/api/v1/users/me");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "a request without a cluster must not hang");
        await ApiCalls.AssertProblemAsync(unavailable, HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.True(unavailable.Headers.RetryAfter is not null);
        await ApiCalls.AssertProblemAsync(
            await client.PostAsJsonAsync("/api/v1/auth/register", new { email = ApiCalls.NewEmail(), password = "long-enough-pw" }),
            HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

        await using var silo = await SiloProcess.StartAsync(connectionString, clusterId);

        var user = await Eventually(() => TryRegisterAsync(client), TimeSpan.FromSeconds(60));
        Assert.NotEqual(Guid.Empty, user.Id);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    private static async Task<TestUser?> TryRegisterAsync(HttpClient client)
    {
        string email = ApiCalls.NewEmail("cluster");
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email, password = "long-enough-pw" });
        return response.StatusCode == HttpStatusCode.Created
            ? new TestUser((await response.Content.ReadFromJsonAsync<UserBody>())!.Id, email, "long-enough-pw")
            : null;
    }

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout)
    {
        await Eventually(async () => await condition() ? (object)true : null, timeout);
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> attempt, TimeSpan timeout)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await attempt() is { } result)
            {
                return result;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Condition not met within {timeout}.");
            await Task.Delay(250);
        }
    }
}
