using System.Diagnostics;
using CouponBooks.Bench.Codes;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Bench;

/// <summary>The bench's own SQL: the reference COPY, counts for the correctness checks, and settling the server between steps.</summary>
public sealed class Database(string connectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source = new NpgsqlDataSourceBuilder(connectionString)
    {
        ConnectionStringBuilder = { CommandTimeout = 0, ApplicationName = "couponbooks-bench" },
    }.Build();

    public async Task<string> ServerVersionAsync() => (string)(await ScalarAsync("show server_version"))!;

    public async Task<int> BackendPidAsync() => (int)(await ScalarAsync("select pg_backend_pid()"))!;

    public async Task<long> ScalarLongAsync(string sql, params object[] parameters) => (long)(await ScalarAsync(sql, parameters))!;

    /// <summary>Users for the pools benchmark, written straight into <c>users</c> (they never log in: the hash is no bcrypt hash).</summary>
    public async Task<ulong> CopyUsersAsync(IReadOnlyList<(Guid Id, string Email)> users)
    {
        await using var connection = await _source.OpenConnectionAsync();
        return await Task.Run(() =>
        {
            using var importer = connection.BeginBinaryImport("copy users (id, email, role, password_hash) from stdin (format binary)");
            foreach (var (id, email) in users)
            {
                importer.StartRow();
                importer.Write(id, NpgsqlDbType.Uuid);
                importer.Write(email, NpgsqlDbType.Text);
                importer.Write("USER", NpgsqlDbType.Text);
                importer.Write("bench user: no login", NpgsqlDbType.Text);
            }

            return importer.Complete();
        });
    }

    public async Task<long> CountCouponsAsync(Guid bookId) => (long)(await ScalarAsync("select count(*) from coupons where book_id = $1", bookId))!;

    /// <summary>
    /// The reference: <paramref name="count"/> codes, formatted here, through one binary
    /// <c>COPY coupons (code, book_id) FROM STDIN</c> in one transaction, committed. The same statement and the
    /// same synchronous writer the silo's generation uses. Answers the rows COPY reported and the time from BEGIN
    /// to the end of COMMIT.
    /// </summary>
    public async Task<(ulong Rows, TimeSpan Elapsed)> CopyReferenceAsync(CodeSeries codes, Guid bookId, long count)
    {
        await using var connection = await _source.OpenConnectionAsync();
        var clock = Stopwatch.StartNew();
        await using var transaction = await connection.BeginTransactionAsync();
        ulong rows = await Task.Run(() =>
        {
            using var importer = connection.BeginBinaryImport("copy coupons (code, book_id) from stdin (format binary)");
            for (long i = 0; i < count; i++)
            {
                importer.StartRow();
                importer.Write(codes.Code(i), NpgsqlDbType.Text);
                importer.Write(bookId, NpgsqlDbType.Uuid);
            }

            return importer.Complete();
        });
        await transaction.CommitAsync();
        return (rows, clock.Elapsed);
    }

    public async Task<(long Rows, TimeSpan Elapsed)> DeleteBookCouponsAsync(Guid bookId)
    {
        var clock = Stopwatch.StartNew();
        await using var command = _source.CreateCommand("delete from coupons where book_id = $1");
        command.Parameters.AddWithValue(bookId);
        long rows = await command.ExecuteNonQueryAsync();
        return (rows, clock.Elapsed);
    }

    /// <summary>
    /// Brings the server to a comparable state before a timed step: <c>VACUUM ANALYZE coupons</c> (so autovacuum
    /// does not start on the previous step's rows during the next one) and a <c>CHECKPOINT</c> (so the next step
    /// does not pay for flushing the previous one's dirty pages). CHECKPOINT needs superuser or pg_checkpoint;
    /// without it the step says so.
    /// </summary>
    public async Task<Settled> SettleAsync()
    {
        var clock = Stopwatch.StartNew();
        await ExecuteAsync("vacuum analyze coupons");
        var vacuum = clock.Elapsed;
        clock.Restart();
        bool checkpointed = true;
        try
        {
            await ExecuteAsync("checkpoint");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            checkpointed = false;
        }

        return new Settled(vacuum, checkpointed ? clock.Elapsed : null);
    }

    /// <summary>
    /// Cancels the statements other sessions of this database have been running for over 5 s: a job the bench gave up
    /// on, so that the steps after it are measured on an idle server. Answers how many were cancelled.
    /// </summary>
    public async Task<long> CancelLongRunningAsync()
    {
        return (long)(await ScalarAsync(
            """
            select count(*) filter (where pg_cancel_backend(pid)) from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and state = 'active'
              and now() - query_start > interval '5 seconds'
            """))!;
    }

    public NpgsqlDataSource Source => _source;

    /// <summary>
    /// The export's own COPY (text copied from src/Api/Books/CouponExport.cs) read to the end through Npgsql's text
    /// export, as the API reads it, but with no HTTP: the database's and Npgsql's share of the export. Answers the time and
    /// the characters read.
    /// </summary>
    public async Task<(TimeSpan Elapsed, long Chars)> TimeExportCopyAsync(Guid bookId)
    {
        string copy =
            $"""
            copy (select code,
                         case when state = 2 and locked_until <= now() then 'ASSIGNED'
                              else (array['UNASSIGNED', 'ASSIGNED', 'LOCKED', 'REDEEMED'])[state + 1] end as state,
                         user_id as "userId",
                         to_char(assigned_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "assignedAt",
                         redemption_count as "redemptionCount"
                  from coupons where book_id = '{bookId:D}' order by code)
            to stdout with (format csv, header)
            """;
        await using var connection = await _source.OpenConnectionAsync();
        var clock = Stopwatch.StartNew();
        using var reader = await connection.BeginTextExportAsync(copy);
        var buffer = new char[32 * 1024];
        long chars = 0;
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            chars += read;
        }

        return (clock.Elapsed, chars);
    }

    private async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var command = _source.CreateCommand(sql);
        foreach (object p in parameters)
        {
            command.Parameters.AddWithValue(p);
        }

        await command.ExecuteNonQueryAsync();
    }

    private async Task<object?> ScalarAsync(string sql, params object[] parameters)
    {
        await using var command = _source.CreateCommand(sql);
        foreach (object p in parameters)
        {
            command.Parameters.AddWithValue(p);
        }

        return await command.ExecuteScalarAsync();
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}

/// <summary>How long settling took; <see cref="Checkpoint"/> is null when the role may not run CHECKPOINT.</summary>
public sealed record Settled(TimeSpan Vacuum, TimeSpan? Checkpoint);
