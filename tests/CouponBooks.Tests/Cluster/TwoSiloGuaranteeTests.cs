using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CouponBooks.Tests.Cluster;

/// <summary>The lifecycle guarantees with two silos sharing the grains, requests spread over both.</summary>
public sealed class TwoSiloGuaranteeTests : IAsyncLifetime
{
    private readonly Dictionary<string, string> _admin = new() { ["Admin:Email"] = ApiFixture.AdminEmail, ["Admin:Password"] = ApiFixture.AdminPassword };
    private string _connectionString = null!;
    private SiloProcess _first = null!;
    private SiloProcess _second = null!;
    private ApiFixture.ApiFactory _api = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"two-silo-guarantees-{Guid.NewGuid():N}";
        _first = await SiloProcess.StartAsync(_connectionString, clusterId, _admin);
        _second = await SiloProcess.StartAsync(_connectionString, clusterId, _admin);
        var management = _first.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        for (int i = 0; i < 240 && (await management.GetHosts(onlyActive: true)).Count < 2; i++)
        {
            await Task.Delay(250);
        }

        _api = new ApiFixture.ApiFactory(ApiFixture.ApiSettings(_connectionString, clusterId));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task Limits_and_single_redemption_hold_with_two_silos()
    {
        using var admin = await ApiCalls.SignedInAsync(_api, ApiFixture.AdminEmail, ApiFixture.AdminPassword);
        var management = _first.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        Assert.Equal(2, (await management.GetHosts(onlyActive: true)).Count);

        // One user, 50 requests at once, two allowed.
        var (perUserBook, _) = await CouponCalls.BookWithCodesAsync(admin, 100, new { name = "Two each", maxAssignmentsPerUser = 2 });
        var (user, userId) = await NewUserAsync();
        var perUser = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => CouponCalls.AssignAsync(user, perUserBook)));
        Assert.Equal(2, perUser.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.All(perUser.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));

        // Forty users at once, ten allowed.
        var (totalBook, _) = await CouponCalls.BookWithCodesAsync(admin, 100, new { name = "Ten in all", maxTotalAssignments = 10 });
        var users = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => NewUserAsync()));
        var total = await Task.WhenAll(users.Select(u => CouponCalls.AssignAsync(u.Client, totalBook)));
        Assert.Equal(10, total.Count(r => r.StatusCode == HttpStatusCode.Created));

        // A hundred redeems of one locked coupon: one.
        var (oneBook, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        string code = (await CouponCalls.AssignOkAsync(user, oneBook)).GetProperty("code").GetString()!;
        await CouponCalls.ActOkAsync(user, code, "lock");
        var redeems = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => CouponCalls.ActAsync(user, code, "redeem")));
        Assert.Single(redeems, r => r.StatusCode == HttpStatusCode.OK);

        Assert.Equal(2L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", perUserBook, userId));
        Assert.Equal(10L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", totalBook));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupon_history where code = $1 and action = 4", code));

        // The grains really were spread: both silos hold activations.
        var statistics = await management.GetSimpleGrainStatistics();
        Assert.Equal(2, statistics.Where(s => s.ActivationCount > 0).Select(s => s.SiloAddress).Distinct().Count());
    }

    private async Task<(HttpClient Client, Guid Id)> NewUserAsync()
    {
        var user = await ApiCalls.RegisterAsync(_api.CreateClient());
        return (await ApiCalls.SignedInAsync(_api, user.Email, user.Password), user.Id);
    }
}
