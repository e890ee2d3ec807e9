using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Bench.Codes;

/// <summary>One statement of the import, timed on its own: <see cref="Elapsed"/> is null when it hit the timeout, and then <see cref="Plan"/> holds its EXPLAIN.</summary>
public sealed record TimedStatement(string Name, TimeSpan? Elapsed, string? Plan, long? Rows);

/// <summary>
/// Tells where a CSV import's time goes without pg_stat_statements: stages N lines into upload_lines the way the
/// API does (binary COPY of the same columns) and runs the import job's statements one by one with the same
/// text, each under a statement timeout, in one transaction that is rolled back at the end. The statements are
/// copied from src/Grains/Books/CodeImport.cs; one more, marked "suggested", is a rewrite to compare with.
/// </summary>
public static class ImportDiagnosis
{
    private const int MaxReported = 100;

    private const string BadLines =
        """
        select line, value, reason, count(*) over () from (
            select line, value,
                   coalesce(reason, 'duplicate of line ' || first_line) as reason
            from (select line, value, reason,
                         case when code is null then null else min(line) over (partition by code) end as first_line
                  from upload_lines where upload_id = $1) ranked
            where reason is not null or line <> first_line) bad
        order by line limit $2
        """;

    private const string ExistingLines =
        """
        select u.line, u.value, 'exists already', count(*) over ()
        from upload_lines u join coupons c on c.code = u.code
        where u.upload_id = $1
          and u.line = (select min(f.line) from upload_lines f where f.upload_id = $1 and f.code = u.code)
        order by u.line limit $2
        """;

    // The same answer (first line of each code that is stored already) without a correlated subquery per staged line.
    private const string ExistingLinesSuggested =
        """
        select line, value, 'exists already', count(*) over ()
        from (select distinct on (u.code) u.line, u.value
              from upload_lines u join coupons c on c.code = u.code
              where u.upload_id = $1
              order by u.code, u.line) firsts
        order by line limit $2
        """;

    /// <summary>
    /// Stages two fresh sets of <paramref name="count"/> scattered codes (prefixes IMPRD-TAG- and IMPRS-TAG-) and times
    /// the import's statements over the first, then the suggested ordered insert over the second (a separate key
    /// range, so the first insert's index entries do not stand in its way).
    /// </summary>
    public static async Task<(TimeSpan Staging, IReadOnlyList<TimedStatement> Statements)> RunAsync(
        NpgsqlDataSource source, string tag, long count, Guid bookId, TimeSpan timeout)
    {
        var upload = Guid.NewGuid();
        var second = Guid.NewGuid();
        await using var connection = await source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, transaction, $"set local statement_timeout = {(long)timeout.TotalMilliseconds}");

        var clock = Stopwatch.StartNew();
        await StageAsync(connection, upload, CodeSeries.Scattered($"IMPRD-{tag}-", Random.Shared.Next()), count);
        var staging = clock.Elapsed;
        await StageAsync(connection, second, CodeSeries.Scattered($"IMPRS-{tag}-", Random.Shared.Next()), count);

        const string Insert = "insert into coupons (code, book_id) select code, $2 from upload_lines where upload_id = $1 and code is not null";
        var statements = new List<TimedStatement>
        {
            await TimeAsync(connection, transaction, "`select count(*) from upload_lines where upload_id = $1`",
                "select count(*) from upload_lines where upload_id = $1", upload),
            await TimeAsync(connection, transaction, "invalid and repeated lines (`BadLines`: `min(line) over (partition by code)`)",
                BadLines, upload, MaxReported),
            await TimeAsync(connection, transaction, "codes stored already (`ExistingLines`: correlated `select min(line)` per staged line)",
                ExistingLines, upload, MaxReported),
            await TimeAsync(connection, transaction, "codes stored already, **suggested** rewrite (`distinct on (code)`, no correlated subquery)",
                ExistingLinesSuggested, upload, MaxReported),
            await TimeAsync(connection, transaction, "`select count(distinct code) from upload_lines where upload_id = $1 and code is not null`",
                "select count(distinct code) from upload_lines where upload_id = $1 and code is not null", upload),
            await TimeAsync(connection, transaction, $"`{Insert} on conflict do nothing`",
                Insert + " on conflict do nothing", upload, bookId),
            await TimeAsync(connection, transaction, "the same insert, **suggested**: `… order by code on conflict do nothing` (other staged codes, same count)",
                Insert + " order by code on conflict do nothing", second, bookId),
            await TimeAsync(connection, transaction, "`delete from upload_lines where upload_id = $1`",
                "delete from upload_lines where upload_id = $1", upload),
        };

        await transaction.RollbackAsync();
        return (staging, statements);
    }

    private static Task StageAsync(NpgsqlConnection connection, Guid upload, CodeSeries codes, long count) => Task.Run(() =>
    {
        using var importer = connection.BeginBinaryImport("copy upload_lines (upload_id, line, value, code, reason) from stdin (format binary)");
        for (long i = 0; i < count; i++)
        {
            string code = codes.Code(i);
            importer.StartRow();
            importer.Write(upload, NpgsqlDbType.Uuid);
            importer.Write((int)(i + 2), NpgsqlDbType.Integer); // line 1 is the header
            importer.Write(code, NpgsqlDbType.Text);
            importer.Write(code, NpgsqlDbType.Text);
            importer.WriteNull();
        }

        importer.Complete();
    });

    private static async Task<TimedStatement> TimeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, string sql, params object[] parameters)
    {
        await transaction.SaveAsync("diagnosis");
        var clock = Stopwatch.StartNew();
        try
        {
            await using var command = Command(connection, transaction, sql, parameters);
            long rows = 0;
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    rows++;
                }

                rows = reader.RecordsAffected >= 0 ? reader.RecordsAffected : rows;
            }

            await transaction.ReleaseAsync("diagnosis");
            return new TimedStatement(name, clock.Elapsed, null, rows);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.QueryCanceled)
        {
            await transaction.RollbackAsync("diagnosis");
            await using var explain = Command(connection, transaction, "explain " + sql, parameters);
            var plan = new List<string>();
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    plan.Add(reader.GetString(0));
                }
            }

            return new TimedStatement(name, null, string.Join('\n', plan), null);
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (object p in parameters)
        {
            command.Parameters.AddWithValue(p);
        }

        return command;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }
}
