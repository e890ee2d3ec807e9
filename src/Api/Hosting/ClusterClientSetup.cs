using Orleans.Configuration;

namespace CouponBooks.Api.Hosting;

/// <summary>Cluster the Api connects to (configuration section <c>Orleans</c>); gateways come from the membership table.</summary>
public sealed class ClusterClientOptions
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "couponbooks";

    public string ServiceId { get; set; } = "couponbooks";
}

internal static class ClusterClientSetup
{
    public static WebApplicationBuilder AddClusterClient(this WebApplicationBuilder builder, string connectionString)
    {
        var cluster = builder.Configuration.GetSection(ClusterClientOptions.Section).Get<ClusterClientOptions>() ?? new ClusterClientOptions();

        // Start Kestrel while the client is still looking for a silo, so the Api answers 503 instead of not at all.
        builder.Services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);

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
            // Find silos that join (and forget those that leave) within seconds.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            client.UseConnectionRetryFilter(RetryForever);
        });
        return builder;
    }

    private static async Task<bool> RetryForever(Exception exception, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        return true;
    }
}
