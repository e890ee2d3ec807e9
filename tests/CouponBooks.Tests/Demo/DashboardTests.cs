using System.Net;
using System.Text.Json;
using CouponBooks.Silo.Hosting;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CouponBooks.Tests.Demo;

/// <summary>The Orleans Dashboard: served by a silo only when configured, on the configured port.</summary>
public sealed class DashboardTests
{
    [Fact]
    public void Without_configuration_a_silo_has_no_dashboard_and_no_http_listener()
    {
        using var host = SiloHost.Build(SiloArgs("Host=127.0.0.1;Database=unused", $"no-dashboard-{Guid.NewGuid():N}"));

        Assert.Null(host.Services.GetService<IServer>());
        Assert.IsNotType<Microsoft.AspNetCore.Builder.WebApplication>(host);
    }

    [Fact]
    public async Task A_silo_with_Dashboard_Enabled_serves_the_dashboard_on_its_port()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        int port = TestPostgres.FreeTcpPort();
        using var host = SiloHost.Build([.. SiloArgs(connectionString, $"dashboard-{Guid.NewGuid():N}"), "--Dashboard:Enabled=true", $"--Dashboard:Port={port}"]);
        await host.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

            var page = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);

            // The dashboard lists this silo as the cluster's one active host.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var counters = await http.GetAsync("/DashboardCounters");
                if (counters.StatusCode == HttpStatusCode.OK)
                {
                    using var json = JsonDocument.Parse(await counters.Content.ReadAsStringAsync());
                    var hosts = json.RootElement.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("status").GetString()).ToList();
                    if (hosts.Count > 0)
                    {
                        Assert.Equal(["Active"], hosts);
                        break;
                    }
                }

                Assert.True(DateTime.UtcNow < deadline, $"The dashboard never listed the silo (last answer {counters.StatusCode}).");
                await Task.Delay(250);
            }
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static string[] SiloArgs(string connectionString, string clusterId) =>
    [
        $"--ConnectionStrings:Postgres={connectionString}",
        $"--Orleans:ClusterId={clusterId}",
        $"--Orleans:ServiceId={clusterId}",
        $"--Orleans:SiloPort={TestPostgres.FreeTcpPort()}",
        $"--Orleans:GatewayPort={TestPostgres.FreeTcpPort()}",
        "--Orleans:AdvertisedHost=127.0.0.1",
        "--Database:MigrateOnStart=false",
        "--Logging:LogLevel:Default=Warning",
        "--Logging:LogLevel:Orleans.Runtime.Silo=Warning",
        "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
    ];
}
