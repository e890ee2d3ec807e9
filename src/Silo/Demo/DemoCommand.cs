using CouponBooks.Demo;
using CouponBooks.Hosting;
using CouponBooks.Silo.Hosting;
using CouponBooks.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace CouponBooks.Silo.Demo;

/// <summary>
/// <c>CouponBooks.Silo.dll demo</c>: connects to the running cluster as a client, loads the showcase data once
/// (a repeat changes nothing) and prints what it did and the demo logins. Development only: the demo passwords
/// are published.
/// </summary>
public static class DemoCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (!builder.Environment.IsDevelopment())
        {
            output.WriteLine($"demo: refused in the {builder.Environment.EnvironmentName} environment; the demo users' passwords are public. Run it in Development.");
            return 2;
        }

        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        var cluster = builder.Configuration.GetSection(SiloEndpointOptions.Section).Get<SiloEndpointOptions>() ?? new SiloEndpointOptions();
        string connectionString = CouponBooksSiloExtensions.ConnectionString(builder.Configuration);
        var connectTimeout = builder.Configuration.GetValue("Demo:ConnectTimeout", TimeSpan.FromMinutes(2));
        var giveUpAt = DateTimeOffset.UtcNow + connectTimeout;
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            // The silos may still be starting: try again until the timeout.
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                if (DateTimeOffset.UtcNow > giveUpAt)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                return true;
            });
        });

        using var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CouponBooks.Demo");
        try
        {
            await host.StartAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Could not reach cluster {ClusterId} within {Timeout}: is the database reachable and a silo running?", cluster.ClusterId, connectTimeout);
            return 1;
        }

        try
        {
            var grains = host.Services.GetRequiredService<IClusterClient>();
            var report = await grains.GetGrain<IDemoDataGrain>(0).LoadAsync();
            string adminEmail = builder.Configuration["Admin:Email"] ?? "admin@example.com";
            var admin = await grains.GetGrain<IUserDirectoryGrain>(0).FindByEmailAsync(adminEmail);
            Print(output, report, adminEmail, admin);
            return 0;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Loading the demo data failed");
            return 1;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static void Print(TextWriter output, DemoReport report, string adminEmail, UserView? admin)
    {
        output.WriteLine(report.AlreadyLoaded
            ? $"demo: the demo data was loaded at {report.LoadedAt:u}; nothing changed."
            : $"demo: loaded {report.UsersCreated} users, {report.BooksCreated} books, {report.CodesGenerated} codes, "
              + $"{report.CouponsAssigned} assigned coupons, {report.PoolsCreated} pools, {report.MembersAdded} pool members.");
        output.WriteLine("demo: logins (README, \"Demo data\"):");
        foreach (var user in DemoCatalog.Users)
        {
            output.WriteLine($"  {user.Email,-22} {user.Password}");
        }

        output.WriteLine(admin is { Role: UserRole.Admin }
            ? $"  {adminEmail,-22} (the bootstrap administrator, Admin__Password)"
            : $"  no administrator {adminEmail} yet: the silo creates it from Admin__Email and Admin__Password.");
    }
}
