using CouponBooks.Books;
using CouponBooks.Coupons;
using CouponBooks.Pools;
using CouponBooks.Storage;
using CouponBooks.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;
using Orleans.Storage;

namespace CouponBooks.Hosting;

public static class CouponBooksSiloExtensions
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>
    /// Everything a silo needs to host the CouponBooks grains on PostgreSQL, except clustering
    /// (the real host uses ADO.NET membership, test clusters their own).
    /// </summary>
    public static ISiloBuilder AddCouponBooksGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        string connectionString = configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set.");

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
