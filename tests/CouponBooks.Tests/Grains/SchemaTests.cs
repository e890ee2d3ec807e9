using CouponBooks.Storage;
using CouponBooks.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CouponBooks.Tests.Grains;

public sealed class SchemaTests
{
    [Fact]
    public async Task Every_script_is_applied_once_and_migrating_again_changes_nothing()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();

        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SchemaMigrator.MigrateAsync(connectionString, NullLogger.Instance)));

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select scriptname from schema_versions order by schemaversionsid", connection);
        var applied = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                applied.Add(reader.GetString(0));
            }
        }

        Assert.Equal(SchemaMigrator.ScriptNames, applied);
        Assert.Contains(applied, name => name.EndsWith("0010_users.sql", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_orleans_providers_find_every_query_they_need()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select querykey from orleansquery", connection);
        var keys = new HashSet<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }

        string[] required =
        [
            "UpdateIAmAlivetimeKey", "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "MembershipReadRowKey",
            "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "CleanupDefunctSiloEntriesKey",
            "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey",
            "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
            "DeleteReminderRowKey", "DeleteReminderRowsKey",
        ];
        Assert.All(required, key => Assert.Contains(key, keys));
    }
}
