using System.Numerics;
using System.Security.Cryptography;
using CouponBooks.Books.Codes;
using CouponBooks.Jobs;
using Microsoft.Extensions.Logging;
using CouponBooks.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Books;

/// <summary>
/// Writes generated codes: fresh counter values of the pattern, through its keyed permutation, copied into the
/// coupons table in one transaction (all or nothing), with the book's stats and the job's batch record.
/// </summary>
public sealed class CodeGeneration(NpgsqlDataSource dataSource, ILogger<CodeGeneration> logger)
{
    private const int ProgressEvery = 10_000;
    private const int MaxRoundsWithoutProgress = 20;

    /// <summary>The capacity rule: <paramref name="count"/> plus the stored codes matching the pattern must not pass half its space.</summary>
    public async Task<Refusal?> CheckCapacityAsync(CodePattern pattern, long count)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return CapacityRefusal(pattern, count, await CountMatchingAsync(connection, null, pattern));
    }

    /// <summary>Generates <paramref name="count"/> new codes for a book; a repeat of a committed job answers its first result.</summary>
    public async Task<long> RunAsync(Guid jobId, Guid bookId, string patternText, long count, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        if (!CodePattern.TryParse(patternText, out var pattern, out string? error))
        {
            throw new JobRefusedException(new JobError(ErrorCode.ValidationFailed, error!));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await CommittedAsync(connection, transaction, jobId) is { } done)
        {
            return done;
        }

        // Taking the pattern's counter row serializes generations of one pattern, so the capacity check holds until commit.
        var (key, next) = await LockCounterAsync(connection, transaction, pattern!);
        if (CapacityRefusal(pattern!, count, await CountMatchingAsync(connection, transaction, pattern!)) is { } refusal)
        {
            throw new JobRefusedException(new JobError(refusal.Code, refusal.Detail));
        }

        var generator = new CodeGenerator(pattern!, key);
        long counter = await CopyFastAsync(connection, transaction, generator, bookId, next, count, progress, cancellationToken)
            ?? await CopyAvoidingExistingAsync(connection, transaction, generator, bookId, next, count, progress, cancellationToken);

        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Sql.Command("update pattern_counters set next = $2 where pattern = $1", pattern!.Text, counter));
            batch.BatchCommands.Add(Sql.Command("update book_stats set total = total + $2, unassigned = unassigned + $2 where book_id = $1", bookId, count));
            batch.BatchCommands.Add(Sql.Command(
                "insert into code_batches (job_id, book_id, kind, codes, result) values ($1, $2, 'generate', $3, jsonb_build_object('generated', $3))",
                jobId, bookId, count));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Generated {Count} codes of {Pattern} for book {BookId}", count, pattern.Text, bookId);
        return count;
    }

    private static Refusal? CapacityRefusal(CodePattern pattern, long count, long existing)
    {
        BigInteger half = pattern.Space / 2;
        return existing + count <= half
            ? null
            : new Refusal(ErrorCode.PatternCapacityExceeded,
                $"The pattern {pattern.Text} forms {pattern.Space} codes and at most half of them ({half}) may ever be used; {existing} are stored already, so {count} more do not fit.");
    }

    /// <summary>Stored codes matching the pattern, narrowed to its literal prefix's range of the primary key.</summary>
    private static async Task<long> CountMatchingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CodePattern pattern)
    {
        string prefix = pattern.LiteralPrefix;
        await using var command = new NpgsqlCommand(
            prefix.Length == 0
                ? "select count(*) from coupons where code ~ $1"
                : "select count(*) from coupons where code >= $2 and code < $3 and code ~ $1",
            connection, transaction);
        command.Parameters.AddWithValue(pattern.ToRegex());
        if (prefix.Length > 0)
        {
            command.Parameters.AddWithValue(prefix);
            command.Parameters.AddWithValue(prefix[..^1] + (char)(prefix[^1] + 1));
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long?> CommittedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid jobId)
    {
        await using var command = new NpgsqlCommand("select codes from code_batches where job_id = $1", connection, transaction);
        command.Parameters.AddWithValue(jobId);
        return await command.ExecuteScalarAsync() as long?;
    }

    private static async Task<(byte[] Key, long Next)> LockCounterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CodePattern pattern)
    {
        await using (var create = new NpgsqlCommand("insert into pattern_counters (pattern, key) values ($1, $2) on conflict do nothing", connection, transaction))
        {
            create.Parameters.AddWithValue(pattern.Text);
            create.Parameters.AddWithValue(RandomNumberGenerator.GetBytes(32));
            await create.ExecuteNonQueryAsync();
        }

        await using var read = new NpgsqlCommand("select key, next from pattern_counters where pattern = $1 for update", connection, transaction);
        read.Parameters.AddWithValue(pattern.Text);
        await using var reader = await read.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetFieldValue<byte[]>(0), reader.GetInt64(1));
    }

    /// <summary>
    /// The usual case: copy the codes straight into coupons. Null when one of them exists already (a code of an
    /// overlapping pattern or of an upload), after rolling the attempt back.
    /// </summary>
    private async Task<long?> CopyFastAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CodeGenerator generator,
        Guid bookId, long next, long count, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await transaction.SaveAsync("fast_copy", cancellationToken);
        try
        {
            await Task.Run(() => Copy(connection, "copy coupons (code, book_id) from stdin (format binary)", generator, bookId, next, count, progress, 0, cancellationToken), cancellationToken);
            return next + count;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            logger.LogInformation("Some generated codes of {Pattern} exist already; generating around them", generator.Pattern.Text);
            await transaction.RollbackAsync("fast_copy", cancellationToken);
            return null;
        }
    }

    /// <summary>Copies into a scratch table and moves over only the new codes, drawing more until the count is met.</summary>
    private static async Task<long> CopyAvoidingExistingAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CodeGenerator generator,
        Guid bookId, long next, long count, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand("create temp table generated_codes (code text collate \"C\") on commit drop", connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        long counter = next;
        long stored = 0;
        for (int idle = 0; stored < count;)
        {
            long wanted = count - stored;
            if (generator.UsesPermutation && counter + wanted > (long)generator.Pattern.Space)
            {
                throw new JobRefusedException(new JobError(ErrorCode.PatternCapacityExceeded, $"The pattern {generator.Pattern.Text} has no unused codes left."));
            }

            long from = counter;
            long already = stored;
            await Task.Run(() => Copy(connection, "copy generated_codes (code) from stdin (format binary)", generator, null, from, wanted, progress, already, cancellationToken), cancellationToken);
            counter += wanted;

            await using var move = new NpgsqlCommand(
                "insert into coupons (code, book_id) select code, $1 from generated_codes order by code on conflict do nothing", connection, transaction);
            move.Parameters.AddWithValue(bookId);
            int moved = await move.ExecuteNonQueryAsync(cancellationToken);
            await using (var truncate = new NpgsqlCommand("truncate generated_codes", connection, transaction))
            {
                await truncate.ExecuteNonQueryAsync(cancellationToken);
            }

            stored += moved;
            idle = moved == 0 ? idle + 1 : 0;
            if (idle >= MaxRoundsWithoutProgress)
            {
                throw new InvalidOperationException($"Generating codes of {generator.Pattern.Text} made no progress in {idle} rounds.");
            }
        }

        return counter;
    }

    /// <summary>
    /// Generates the codes, sorts them and copies them in key order: the permutation scatters them, and inserting
    /// into the indexes at random places costs several times more than in order.
    /// </summary>
    private static void Copy(NpgsqlConnection connection, string copyCommand, CodeGenerator generator, Guid? bookId,
        long first, long count, IProgress<long>? progress, long reportedBefore, CancellationToken cancellationToken)
    {
        var codes = new string[count];
        Span<char> buffer = stackalloc char[generator.Pattern.Length];
        for (long i = 0; i < count; i++)
        {
            if (generator.UsesPermutation)
            {
                generator.Write((ulong)(first + i), buffer);
            }
            else
            {
                generator.WriteRandom(buffer);
            }

            codes[i] = new string(buffer);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Array.Sort(codes, StringComparer.Ordinal);
        using var importer = connection.BeginBinaryImport(copyCommand);
        for (long i = 0; i < count; i++)
        {
            importer.StartRow();
            importer.Write(codes[i], NpgsqlDbType.Text);
            if (bookId is { } book)
            {
                importer.Write(book, NpgsqlDbType.Uuid);
            }

            if ((i + 1) % ProgressEvery == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(reportedBefore + i + 1);
            }
        }

        importer.Complete();
        progress?.Report(reportedBefore + count);
    }
}
