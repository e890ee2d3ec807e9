using DbUp;
using DbUp.Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CouponBooks.Storage;

/// <summary>Applies the numbered scripts of <c>sql/</c> (embedded in this assembly) in order, each exactly once.</summary>
public static class SchemaMigrator
{
    private const string ResourcePrefix = "CouponBooks.Schema.";

    // Any constant works; it only has to be the same for every process that migrates this database.
    private const long MigrationLockKey = 0x436F75706F6E42;

    public static IReadOnlyList<string> ScriptNames =>
        typeof(SchemaMigrator).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Brings the database up to date. Safe to call from several processes at once: they take turns.</summary>
    public static async Task MigrateAsync(string connectionString, ILogger logger, CancellationToken cancellationToken = default)
    {
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("select pg_advisory_lock(@key)", lockConnection))
        {
            take.Parameters.AddWithValue("key", MigrationLockKey);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(SchemaMigrator).Assembly, name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                .WithScriptNameComparer(StringComparer.Ordinal)
                .WithVariablesDisabled()
                .WithTransactionPerScript()
                .JournalToPostgresqlTable("public", "schema_versions")
                .LogTo(new UpgradeLog(logger))
                .Build();

            DatabaseUpgradeResult result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException($"Applying schema script {result.ErrorScript?.Name} failed: {result.Error?.Message}", result.Error);
            }

            logger.LogInformation("Schema is up to date ({Applied} script(s) applied now)", result.Scripts.Count());
        }
        finally
        {
            await using var release = new NpgsqlCommand("select pg_advisory_unlock(@key)", lockConnection);
            release.Parameters.AddWithValue("key", MigrationLockKey);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private sealed class UpgradeLog(ILogger logger) : DbUp.Engine.Output.IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger.LogTrace(format, args);

        public void LogDebug(string format, params object[] args) => logger.LogDebug(format, args);

        public void LogInformation(string format, params object[] args) => logger.LogDebug(format, args);

        public void LogWarning(string format, params object[] args) => logger.LogWarning(format, args);

        public void LogError(string format, params object[] args) => logger.LogError(format, args);

        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, format, args);
    }
}

/// <summary>
/// Applies <c>sql/</c> when its host starts, before any hosted service added after it (a silo's, a web server's):
/// hosted services start one after another in the order they were added. (A silo logs "Started silo" when it is
/// built, before any start; it joins the cluster in its hosted service's start, after this.)
/// </summary>
public sealed class SchemaMigration(string connectionString, ILogger<SchemaMigration> logger) : IHostedService
{
    public const string MigrateOnStartKey = "Database:MigrateOnStart";

    public Task StartAsync(CancellationToken cancellationToken) => SchemaMigrator.MigrateAsync(connectionString, logger, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class SchemaMigrationSetup
{
    /// <summary>
    /// Brings the schema up to date when the host starts, unless <c>Database:MigrateOnStart</c> is false; add it before
    /// the silo (<c>UseOrleans</c>), so the silo starts on the current schema. The silo host and an Api that hosts a
    /// silo both start this way.
    /// </summary>
    public static IServiceCollection AddSchemaMigrationOnStart(this IServiceCollection services, IConfiguration configuration)
    {
        if (configuration.GetValue(SchemaMigration.MigrateOnStartKey, true))
        {
            string connectionString = Hosting.CouponBooksSiloExtensions.ConnectionString(configuration);
            services.AddHostedService(sp => new SchemaMigration(connectionString, sp.GetRequiredService<ILogger<SchemaMigration>>()));
        }

        return services;
    }
}
