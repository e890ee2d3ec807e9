using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CouponBooks.Tests.Cluster;

/// <summary>
/// The Api hosting its own silo (<c>Orleans:CoHosted</c>): two such nodes on a new database apply the schema
/// themselves, form one cluster, and keep the lifecycle guarantees with requests spread over both.
/// </summary>
public sealed class CoHostedNodeTests : IAsyncLifetime
{
    private readonly string _clusterId = $"co-hosted-{Guid.NewGuid():N}";
    private string _connectionString = null!;
    private ApiFixture.ApiFactory _first = null!;
    private ApiFixture.ApiFactory _second = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestPostgres.CreateEmptyDatabaseAsync();
        _first = Node(dashboard: true);
        _second = Node(dashboard: false);
        // Each factory starts its host on first use: schema, then silo, then the (test) server.
        _ = _first.Server;
        _ = _second.Server;
        var management = _first.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        for (int i = 0; i < 240 && (await management.GetHosts(onlyActive: true)).Count < 2; i++)
        {
            await Task.Delay(250);
        }
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task Each_node_is_a_silo_of_one_cluster_on_a_schema_it_applied()
    {
        // The schema came from the nodes (the database was created empty), every script once.
        long applied = await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from schema_versions");
        Assert.Equal(CouponBooks.Storage.SchemaMigrator.ScriptNames.Count, (int)applied);

        // Two silos, one in each node's process, both active in the membership table.
        Assert.NotEqual(_first.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress, _second.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress);
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(_connectionString,
            "select count(*) from orleansmembershiptable where deploymentid = $1 and status = 3", _clusterId));

        // The Api and its silo share one data source: the silo's, which prepares the statements it repeats.
        var dataSource = _first.Services.GetRequiredService<NpgsqlDataSource>();
        Assert.Equal(64, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxAutoPrepare);

        using var client = _first.CreateClient();
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var checks = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Equal("2 active silo(s).", checks.GetProperty("orleans").GetProperty("description").GetString());
    }

    [Fact]
    public async Task Limits_and_single_redemption_hold_with_requests_spread_over_two_nodes()
    {
        using var admin = await ApiCalls.SignedInAsync(_first, ApiFixture.AdminEmail, ApiFixture.AdminPassword);

        // One user, 50 requests at once through both nodes, two allowed.
        var (perUserBook, _) = await CouponCalls.BookWithCodesAsync(admin, 100, new { name = "Two each", maxAssignmentsPerUser = 2 });
        var user = await ApiCalls.RegisterAsync(_first.CreateClient());
        using var onFirst = await ApiCalls.SignedInAsync(_first, user.Email, user.Password);
        using var onSecond = await ApiCalls.SignedInAsync(_second, user.Email, user.Password);
        var perUser = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => CouponCalls.AssignAsync(i % 2 == 0 ? onFirst : onSecond, perUserBook)));
        Assert.Equal(2, perUser.Count(r => r.StatusCode == HttpStatusCode.Created));
        foreach (var refused in perUser.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.Conflict, "per-user-limit-reached");
        }

        // A hundred redeems of one locked coupon through both nodes: one.
        var (oneBook, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        string code = (await CouponCalls.AssignOkAsync(onFirst, oneBook)).GetProperty("code").GetString()!;
        await CouponCalls.ActOkAsync(onSecond, code, "lock");
        var redeems = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => CouponCalls.ActAsync(i % 2 == 0 ? onFirst : onSecond, code, "redeem")));
        Assert.Single(redeems, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(99, redeems.Count(r => r.StatusCode == HttpStatusCode.Conflict));

        Assert.Equal(2L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", perUserBook, user.Id));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(_connectionString, "select count(*) from coupon_history where code = $1 and action = 4", code));

        // Both nodes host grains, and a node's /metrics carries its silo's instruments.
        var statistics = await _first.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        Assert.Equal(2, statistics.Where(s => s.ActivationCount > 0).Select(s => s.SiloAddress).Distinct().Count());
        string metrics = await _second.CreateClient().GetStringAsync("/metrics");
        Assert.Contains("couponbooks_coupon_transitions_total{", metrics);
    }

    [Fact]
    public async Task The_dashboard_of_a_node_answers_requests_from_its_own_machine_only()
    {
        using var client = _first.CreateClient();
        var page = await client.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);

        var local = await _first.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = "/dashboard/";
            c.Connection.RemoteIpAddress = IPAddress.Loopback;
        });
        Assert.Equal(StatusCodes.Status200OK, local.Response.StatusCode);

        var remote = await _first.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = "/dashboard/";
            c.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        });
        Assert.Equal(StatusCodes.Status404NotFound, remote.Response.StatusCode);

        // A node without Dashboard:Enabled has none.
        using var other = _second.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync("/dashboard/")).StatusCode);
    }

    private ApiFixture.ApiFactory Node(bool dashboard)
    {
        var settings = ApiFixture.ApiSettings(_connectionString, _clusterId);
        settings["Orleans:CoHosted"] = "true";
        settings["Dashboard:Enabled"] = dashboard.ToString();
        settings["Orleans:SiloPort"] = TestPostgres.FreeTcpPort().ToString();
        settings["Orleans:GatewayPort"] = TestPostgres.FreeTcpPort().ToString();
        settings["Orleans:AdvertisedHost"] = "127.0.0.1";
        settings["Identity:BcryptWorkFactor"] = "4";
        settings["Admin:Email"] = ApiFixture.AdminEmail;
        settings["Admin:Password"] = ApiFixture.AdminPassword;
        return new ApiFixture.ApiFactory(settings);
    }
}
