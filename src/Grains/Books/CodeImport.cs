using System.Text.Json;
using CouponBooks.Jobs;
using Microsoft.Extensions.Logging;
using CouponBooks.Storage;
using Npgsql;

namespace CouponBooks.Books;

/// <summary>
/// Moves the staged lines of an upload (upload_lines, written by the Api as it reads the file) into the
/// coupons table, set-based and in one transaction: all or nothing by default, or only the good codes.
/// </summary>
public sealed class CodeImport(NpgsqlDataSource dataSource, ILogger<CodeImport> logger)
{
    /// <summary>Offenders listed by a refused upload (API.md: at most 100).</summary>
    public const int MaxOffenders = 100;

    /// <summary>
    /// Skipped lines listed by an upload with skipInvalid: every one of an upload answered at once (those have at most
    /// 10,000 lines), the first 10,000 of a larger one's job (<c>skippedCount</c> counts them all).
    /// </summary>
    public const int MaxSkippedListed = 10_000;

    // Lines that are not valid codes, and repeats of a code (every occurrence after its first line).
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

    // First occurrences of codes that are stored already (in any book).
    private const string ExistingLines =
        """
        select line, value, 'exists already', count(*) over () from (
            select distinct on (u.code) u.line, u.value
            from upload_lines u join coupons c on c.code = u.code
            where u.upload_id = $1
            order by u.code, u.line) firsts
        order by line limit $2
        """;

    public async Task<ImportReport> RunAsync(Guid batchId, Guid uploadId, Guid bookId, bool skipInvalid, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        try
        {
            return await ImportAsync(batchId, uploadId, bookId, skipInvalid, progress, cancellationToken);
        }
        catch (JobRefusedException)
        {
            await DiscardAsync(uploadId);
            throw;
        }
    }

    private async Task<ImportReport> ImportAsync(Guid batchId, Guid uploadId, Guid bookId, bool skipInvalid, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await CommittedAsync(connection, transaction, batchId) is { } done)
        {
            return done;
        }

        long lines = await ScalarAsync(connection, transaction, "select count(*) from upload_lines where upload_id = $1", uploadId);
        int listed = skipInvalid ? MaxSkippedListed : MaxOffenders;
        var (bad, badCount) = await IssuesAsync(connection, transaction, BadLines, uploadId, listed);
        var (existing, existingCount) = await IssuesAsync(connection, transaction, ExistingLines, uploadId, listed);
        if (!skipInvalid && badCount > 0)
        {
            throw Refused(ErrorCode.InvalidCodes, $"{badCount} line(s) are not valid codes or repeat a code of the file; nothing was stored.", bad);
        }

        if (!skipInvalid && existingCount > 0)
        {
            throw Refused(ErrorCode.CodesExist, $"{existingCount} code(s) exist already; nothing was stored.", existing);
        }

        // All or nothing got here only with every line a new, distinct, valid code: each must be stored.
        long expected = lines;
        await using var insert = new NpgsqlCommand(
            // In code order: each index takes its new entries in key order, several times faster than at random.
            "insert into coupons (code, book_id) select code, $2 from upload_lines where upload_id = $1 and code is not null order by code on conflict do nothing",
            connection, transaction);
        insert.Parameters.AddWithValue(uploadId);
        insert.Parameters.AddWithValue(bookId);
        insert.CommandTimeout = 0;
        long accepted = await insert.ExecuteNonQueryAsync(cancellationToken);
        if (!skipInvalid && accepted < expected)
        {
            // Codes written by someone else since the check above: all or nothing means nothing.
            await transaction.RollbackAsync(cancellationToken);
            throw Refused(ErrorCode.CodesExist, $"{expected - accepted} code(s) were stored by another request meanwhile; nothing was stored.", []);
        }

        progress?.Report(lines);
        var skipped = bad.Concat(existing).OrderBy(i => i.Line).Take(MaxSkippedListed).ToList();
        var report = new ImportReport(accepted, skipped, lines - accepted);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Sql.Command("update book_stats set total = total + $2, unassigned = unassigned + $2 where book_id = $1", bookId, accepted));
            batch.BatchCommands.Add(Sql.Command(
                "insert into code_batches (job_id, book_id, kind, codes, result) values ($1, $2, 'import', $3, $4::jsonb)",
                batchId, bookId, accepted, JsonSerializer.Serialize(report, JsonSerializerOptions.Web)));
            batch.BatchCommands.Add(Sql.Command("delete from upload_lines where upload_id = $1", uploadId));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Imported {Accepted} codes into book {BookId} ({Skipped} lines skipped)", accepted, bookId, report.SkippedCount);
        return report;
    }

    /// <summary>Drops an upload's staged lines (a refused or abandoned import).</summary>
    public async Task DiscardAsync(Guid uploadId)
    {
        await using var command = dataSource.CreateCommand("delete from upload_lines where upload_id = $1");
        command.Parameters.AddWithValue(uploadId);
        await command.ExecuteNonQueryAsync();
    }

    private JobRefusedException Refused(ErrorCode code, string detail, IReadOnlyList<CodeIssue> offenders)
    {
        logger.LogInformation("Import refused: {Detail}", detail);
        return new JobRefusedException(new JobError(code, detail, offenders));
    }

    private static async Task<ImportReport?> CommittedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId)
    {
        await using var command = new NpgsqlCommand("select result::text from code_batches where job_id = $1", connection, transaction);
        command.Parameters.AddWithValue(batchId);
        return await command.ExecuteScalarAsync() is string json ? JsonSerializer.Deserialize<ImportReport>(json, JsonSerializerOptions.Web) : null;
    }

    private static async Task<(List<CodeIssue> Issues, long Count)> IssuesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Guid uploadId, int limit)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        command.Parameters.AddWithValue(uploadId);
        command.Parameters.AddWithValue(limit);
        var issues = new List<CodeIssue>();
        long count = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            issues.Add(new CodeIssue(reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
            count = reader.GetInt64(3);
        }

        return (issues, count);
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Guid uploadId)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        command.Parameters.AddWithValue(uploadId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
