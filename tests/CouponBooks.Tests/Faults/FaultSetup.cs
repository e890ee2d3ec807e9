using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CouponBooks.Tests.Faults;

/// <summary>
/// The fault tests stop, kill and restart processes and measure recovery times, so they run one at a time and
/// alone, after the tests that run in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection
{
    public const string Name = "faults";
}

/// <summary>Setup the fault tests share.</summary>
public static class FaultSetup
{
    public static Dictionary<string, string> AdminSettings() => new()
    {
        ["Admin:Email"] = ApiFixture.AdminEmail,
        ["Admin:Password"] = ApiFixture.AdminPassword,
    };

    /// <summary>
    /// The Api of a fault test. Its users loop as fast as the service answers, and while PostgreSQL is down the 503s come
    /// back at once, so each user sends far more than a person's coupon-command budget: the budgets are lifted here
    /// (the limiter has its own tests in Hardening/) so every answer the ledger sees is the fault's, not the limiter's.
    /// </summary>
    public static Dictionary<string, string> ApiSettings(string connectionString, string clusterId)
    {
        const string Unlimited = "1000000000";
        var settings = ApiFixture.ApiSettings(connectionString, clusterId);
        foreach (string bucket in new[] { "CouponCommands", "AdminCouponCommands", "SignIn" })
        {
            settings[$"RateLimits:{bucket}:TokenLimit"] = Unlimited;
            settings[$"RateLimits:{bucket}:TokensPerPeriod"] = Unlimited;
        }

        return settings;
    }

    /// <summary>A client logged in as the bootstrap admin, trying until the cluster answers.</summary>
    public static Task<HttpClient> AdminAsync(WebApplicationFactory<Program> api) => ApiCalls.SignedInAsync(api, ApiFixture.AdminEmail, ApiFixture.AdminPassword);

    public static string Seconds(TimeSpan time) => $"{time.TotalSeconds:F1} s";
}
