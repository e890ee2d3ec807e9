using Npgsql;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>Reads what the database holds, for asserting on it, and sets up the faults some tests need.</summary>
public static class TestDb
{
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = Command(connection, sql, values);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<List<string>> StringsAsync(string connectionString, string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = Command(connection, sql, values);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    public static async Task ExecuteAsync(string connectionString, string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = Command(connection, sql, values);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Runs <paramref name="run"/> while a BEFORE UPDATE trigger on the row of <paramref name="code"/> runs the PL/pgSQL
    /// <paramref name="body"/> (<c>return null;</c>: every update of the row applies to nothing), and drops it after.
    /// </summary>
    public static Task<T> WhileCouponTriggerAsync<T>(string connectionString, string code, string body, Func<Task<T>> run) =>
        WhileTriggerAsync(connectionString, "coupons", $"old.code = '{code}'", body, run);

    /// <summary>Runs <paramref name="run"/> while a before-update trigger on <paramref name="table"/> runs <paramref name="body"/> for the rows <paramref name="when"/> picks.</summary>
    public static async Task<T> WhileTriggerAsync<T>(string connectionString, string table, string when, string body, Func<Task<T>> run)
    {
        string name = $"trigger_{Guid.NewGuid():N}";
        await ExecuteAsync(connectionString,
            $"create function {name}() returns trigger language plpgsql as $$ begin {body} end $$; " +
            $"create trigger {name} before update on {table} for each row when ({when}) execute function {name}()");
        try
        {
            return await run();
        }
        finally
        {
            await ExecuteAsync(connectionString, $"drop trigger {name} on {table}; drop function {name}()");
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (object value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
