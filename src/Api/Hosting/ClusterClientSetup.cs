using CouponBooks.Api.Http;
using CouponBooks.Hosting;
using CouponBooks.Storage;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace CouponBooks.Api.Hosting;

/// <summary>
/// How the Api reaches the cluster (configuration section <c>Orleans</c>): as a client whose gateways come from the
/// membership table, or, with <see cref="CoHosted"/>, as a silo of the cluster itself.
/// </summary>
public sealed class ClusterClientOptions
{
    public const string Section = "Orleans";

    /// <summary>
    /// Host a silo in the Api's own process (its ports, ids and database from the same <c>Orleans</c> section and
    /// connection string as a silo host's). Grain calls that land on this silo then skip the network and the
    /// serializer. Off: the Api is an Orleans client of separate silos.
    /// </summary>
    public bool CoHosted { get; set; }

    public string ClusterId { get; set; } = "couponbooks";

    public string ServiceId { get; set; } = "couponbooks";

    /// <summary>
    /// How long a grain call may go unanswered before the request fails with 503 (a silo that died with the call in
    /// flight never answers). Long calls (a job's start, the demo load) carry their own, longer timeout.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

internal static class ClusterClientSetup
{
    public static bool IsCoHosted(IConfiguration configuration) =>
        configuration.GetSection(ClusterClientOptions.Section).Get<ClusterClientOptions>()?.CoHosted ?? false;

    /// <summary>The cluster as configured: a silo in this process (<c>Orleans:CoHosted</c>) or a client of separate silos.</summary>
    public static WebApplicationBuilder AddCluster(this WebApplicationBuilder builder, string connectionString) =>
        IsCoHosted(builder.Configuration) ? builder.AddCoHostedSilo() : builder.AddClusterClient(connectionString);

    /// <summary>
    /// A silo of the cluster in this process, after the schema is brought up to date (<c>Database:MigrateOnStart</c>,
    /// on unless turned off, as in a silo host). Hosted services start in the order they were added and the web
    /// server last, so the schema is there before the silo starts, and the silo before the first request.
    /// </summary>
    private static WebApplicationBuilder AddCoHostedSilo(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddSchemaMigrationOnStart(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            silo.AddCouponBooksCluster(builder.Configuration);
            if (DashboardSetup.IsEnabled(builder.Configuration))
            {
                silo.AddDashboard();
            }
        });
        builder.Services.AddSingleton(sp => new ClusterConnection([], sp, sp.GetRequiredService<ILogger<ClusterConnection>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterConnection>());
        return builder;
    }

    private static WebApplicationBuilder AddClusterClient(this WebApplicationBuilder builder, string connectionString)
    {
        var cluster = builder.Configuration.GetSection(ClusterClientOptions.Section).Get<ClusterClientOptions>() ?? new ClusterClientOptions();

        int before = builder.Services.Count;
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
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = cluster.ResponseTimeout);
            if (builder.Configuration.GetValue<bool>(GrainCallTracing.ConfigKey))
            {
                client.AddActivityPropagation();
            }
        });

        // The client's own hosted service would hold up the Api's start until a silo answers; run it in the background instead.
        var clientServices = builder.Services.Skip(before).Where(d => d.ServiceType == typeof(IHostedService)).ToList();
        foreach (var descriptor in clientServices)
        {
            builder.Services.Remove(descriptor);
        }

        builder.Services.AddSingleton(sp => new ClusterConnection(clientServices, sp, sp.GetRequiredService<ILogger<ClusterConnection>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterConnection>());
        return builder;
    }

    /// <summary>Answers 503 to API calls until the client has first connected to the cluster.</summary>
    public static IApplicationBuilder UseClusterConnectionGate(this IApplicationBuilder app)
    {
        var connection = app.ApplicationServices.GetRequiredService<ClusterConnection>();
        // Not async: once connected, every request passes straight on without a state machine of its own.
        return app.Use((context, next) =>
            connection.IsConnected || !context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
                ? next(context)
                : RefuseAsync(context));

        static Task RefuseAsync(HttpContext context)
        {
            ApiProblems.SetRetryAfter(context, ApiProblems.UnavailableRetryAfter);
            return ApiProblems.Problem(ErrorCode.ServiceUnavailable, "The Api is still connecting to the cluster.").ExecuteAsync(context);
        }
    }

    private static async Task<bool> RetryForever(Exception exception, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        return true;
    }
}

/// <summary>Starts the Orleans client in the background (it retries until a silo answers) and stops it with the Api.</summary>
internal sealed class ClusterConnection(IReadOnlyList<ServiceDescriptor> clientServices, IServiceProvider services, ILogger<ClusterConnection> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<IHostedService> _started = [];
    private Task _connecting = Task.CompletedTask;
    private volatile bool _connected;

    public bool IsConnected => _connected;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _connecting = Task.Run(ConnectAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _connecting;
        foreach (var service in Enumerable.Reverse(_started))
        {
            await service.StopAsync(cancellationToken);
        }
    }

    private async Task ConnectAsync()
    {
        try
        {
            foreach (var descriptor in clientServices)
            {
                var service = Resolve(descriptor);
                await service.StartAsync(_stopping.Token);
                _started.Add(service);
            }

            _connected = true;
            logger.LogInformation("Connected to the Orleans cluster");
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogCritical(ex, "The Orleans client failed to start");
            services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        }
    }

    private IHostedService Resolve(ServiceDescriptor descriptor) => (IHostedService)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
