using System.Net;
using CouponBooks.Hosting;
using CouponBooks.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Dashboard;

namespace CouponBooks.Silo.Hosting;

/// <summary>Builds the silo host: ADO.NET clustering, storage and reminders on PostgreSQL, ports from configuration.</summary>
public static class SiloHost
{
    /// <summary>The silo without the dashboard, as a builder a caller may add to.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = NewHostBuilder(args);
        ConfigureSilo(builder, dashboard: false);
        return builder;
    }

    /// <summary>
    /// The silo host as configured: with <c>Dashboard:Enabled</c> an ASP.NET Core host that also serves the Orleans
    /// Dashboard on <c>Dashboard:Port</c>, else a plain host with no HTTP listener.
    /// </summary>
    public static IHost Build(string[] args)
    {
        var builder = NewHostBuilder(args);
        var dashboard = builder.Configuration.GetSection(DashboardSettings.Section).Get<DashboardSettings>() ?? new DashboardSettings();
        if (!dashboard.Enabled)
        {
            ConfigureSilo(builder, dashboard: false);
            return builder.Build();
        }

        var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var address = IPAddress.TryParse(dashboard.ListenAddress, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"Dashboard:ListenAddress must be an IP address (127.0.0.1, 0.0.0.0), not '{dashboard.ListenAddress}'.");
        web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, dashboard.Port));
        ConfigureSilo(web, dashboard: true);
        var app = web.Build();
        app.MapOrleansDashboard();
        return app;
    }

    private static HostApplicationBuilder NewHostBuilder(string[] args) =>
        Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });

    private static void ConfigureSilo(IHostApplicationBuilder builder, bool dashboard)
    {
        var endpoints = builder.Configuration.GetSection(SiloEndpointOptions.Section).Get<SiloEndpointOptions>() ?? new SiloEndpointOptions();

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.AddSiloLogging().AddSiloMetrics(endpoints);
        builder.Services.AddSchemaMigrationOnStart(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            silo.AddCouponBooksCluster(builder.Configuration);
            if (dashboard)
            {
                silo.AddDashboard();
            }
        });
    }

    /// <summary>Runs the silo (after applying <c>sql/</c>, unless <c>Database:MigrateOnStart</c> is false) until it is told to stop.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var host = Build(args);
        await host.RunAsync();
        return 0;
    }

    /// <summary>The schema step alone: apply <c>sql/</c> and exit.</summary>
    public static async Task<int> MigrateOnlyAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory }).AddSiloLogging();
        using var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CouponBooks.Schema");
        await SchemaMigrator.MigrateAsync(CouponBooksSiloExtensions.ConnectionString(builder.Configuration), logger);
        return 0;
    }
}
