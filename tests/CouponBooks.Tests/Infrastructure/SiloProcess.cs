using CouponBooks.Silo.Hosting;
using Microsoft.Extensions.Hosting;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>A real silo host (ADO.NET clustering, storage and reminders) running in the test process on its own ports.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly IHost _host;

    private SiloProcess(IHost host, int siloPort, int gatewayPort)
    {
        _host = host;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
    }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<SiloProcess> StartAsync(string connectionString, string clusterId, IDictionary<string, string>? extra = null)
    {
        int siloPort = TestPostgres.FreeTcpPort();
        int gatewayPort = TestPostgres.FreeTcpPort();
        var settings = Settings(connectionString, clusterId, siloPort, gatewayPort, extra);

        var host = SiloHost.CreateBuilder(settings.Select(s => $"--{s.Key}={s.Value}").ToArray()).Build();
        await host.StartAsync();
        return new SiloProcess(host, siloPort, gatewayPort);
    }

    /// <summary>A test silo's configuration: its cluster and database, its own two ports, a cheap bcrypt, quiet logs; <paramref name="extra"/> wins.</summary>
    public static Dictionary<string, string> Settings(string connectionString, string clusterId, int siloPort, int gatewayPort, IDictionary<string, string>? extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Orleans:ClusterId"] = clusterId,
            ["Orleans:ServiceId"] = clusterId,
            ["Orleans:SiloPort"] = siloPort.ToString(),
            ["Orleans:GatewayPort"] = gatewayPort.ToString(),
            ["Orleans:AdvertisedHost"] = "127.0.0.1",
            ["Database:MigrateOnStart"] = "false",
            ["Identity:BcryptWorkFactor"] = "4",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _host.Dispose();
        }
    }
}
