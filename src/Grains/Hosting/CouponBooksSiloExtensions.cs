using System.Net;
using System.Net.Sockets;
using CouponBooks.Books;
using CouponBooks.Coupons;
using CouponBooks.Pools;
using CouponBooks.Storage;
using CouponBooks.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace CouponBooks.Hosting;

public static class CouponBooksSiloExtensions
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>The cluster's database (<c>ConnectionStrings__Postgres</c>), required.</summary>
    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName)
        ?? throw new InvalidOperationException($"ConnectionStrings__{ConnectionStringName} is not set: name the PostgreSQL database to use.");

    /// <summary>
    /// A silo of the CouponBooks cluster as configured (section <c>Orleans</c>, <see cref="SiloEndpointOptions"/>):
    /// its cluster and service ids, its silo and gateway ports, ADO.NET membership on PostgreSQL and the grains. The
    /// silo host and an Api that hosts its own silo both build their silo here.
    /// </summary>
    public static ISiloBuilder AddCouponBooksCluster(this ISiloBuilder silo, IConfiguration configuration)
    {
        var endpoints = configuration.GetSection(SiloEndpointOptions.Section).Get<SiloEndpointOptions>() ?? new SiloEndpointOptions();
        string connectionString = ConnectionString(configuration);

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = endpoints.ClusterId;
            o.ServiceId = endpoints.ServiceId;
        });
        silo.ConfigureEndpoints(AdvertisedAddress(endpoints.AdvertisedHost), endpoints.SiloPort, endpoints.GatewayPort, listenOnAnyHostAddress: true);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });
        // When every silo is started again after a crash, the killed silos' rows still say Active, and a joining silo
        // waits for each of them until its I-am-alive time is NumMissedTableIAmAliveLimit (3) periods old: with a
        // period of 10 s instead of Orleans' 30 s that is at most 30 s, not 90 (for one small row update per silo
        // every 10 s).
        silo.Configure<ClusterMembershipOptions>(o => o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10));
        silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = Math.Max(3, endpoints.DirectoryCacheSize));
        if (endpoints.ResponseTimeout is { } responseTimeout)
        {
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = responseTimeout);
        }

        silo.AddCouponBooksGrains(configuration);
        if (configuration.GetValue<bool>(GrainCallTracing.ConfigKey))
        {
            // The process's logging setup starts the listener (GrainCallTracing).
            silo.AddActivityPropagation();
        }

        return silo;
    }

    private static IPAddress AdvertisedAddress(string host) =>
        IPAddress.TryParse(host, out var address)
            ? address
            : Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork);

    /// <summary>
    /// Everything a silo needs to host the CouponBooks grains on PostgreSQL, except clustering
    /// (the real host uses ADO.NET membership, test clusters their own).
    /// </summary>
    public static ISiloBuilder AddCouponBooksGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        string connectionString = ConnectionString(configuration);

        silo.AddAdoNetGrainStorage(StorageNames.Store, options =>
        {
            options.Invariant = "Npgsql";
            options.ConnectionString = connectionString;
        });
        silo.UseAdoNetReminderService(options =>
        {
            options.Invariant = "Npgsql";
            options.ConnectionString = connectionString;
        });

        silo.AddIncomingGrainCallFilter<StorageFaultFilter>();

        var services = silo.Services;
        services.AddSingleton(_ => CreateDataSource(connectionString));
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<SystemTextJsonGrainStorageSerializerOptions>();
        services.AddSingleton<SystemTextJsonGrainStorageSerializer>();
        services.AddOptions<Orleans.Configuration.AdoNetGrainStorageOptions>(StorageNames.Store)
            .Configure<SystemTextJsonGrainStorageSerializer>((options, serializer) => options.GrainStorageSerializer = serializer);

        services.AddOptions<IdentityOptions>().Bind(configuration.GetSection(IdentityOptions.Section))
            .Validate(o => o.BcryptWorkFactor is >= 4 and <= 31, "Identity:BcryptWorkFactor must be 4..31.")
            .Validate(o => o.LockoutMaxFailedAttempts >= 1, "Identity:LockoutMaxFailedAttempts must be at least 1.")
            .ValidateOnStart();
        services.AddOptions<AdminBootstrapOptions>().Bind(configuration.GetSection(AdminBootstrapOptions.Section));
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<BookStore>();
        services.AddSingleton<CodeGeneration>();
        services.AddSingleton<CodeImport>();
        services.AddSingleton<CouponStore>();
        services.AddSingleton<PoolStore>();
        services.AddSingleton<BookSettingsCache>();
        services.AddOptions<CouponWriterOptions>().Bind(configuration.GetSection(CouponWriterOptions.Section));
        services.AddSingleton<CouponWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<CouponWriter>());
        services.AddHostedService<MaintenanceStarter>();
        services.AddHostedService<AdminBootstrap>();
        return silo;
    }

    /// <summary>
    /// The silo's PostgreSQL data source. Grains run the same few statements thousands of times a second, so Npgsql
    /// prepares any statement used twice on a connection (up to 64 per connection), which spares the server parsing and
    /// planning them again; a connection string that sets Max Auto Prepare itself keeps its own setting.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        return builder.Build();
    }
}
