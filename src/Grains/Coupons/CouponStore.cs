using System.Threading.Channels;
using CouponBooks.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Coupons;

/// <summary>
/// Reads of one coupon's row and history (writes go through <see cref="CouponWriter"/>). Row reads, which every
/// coupon activation makes, are gathered: whatever activations ask while the previous read runs go out as one
/// <c>where code = any($1)</c>, one round trip for many coupons, on the read loop's own connection
/// (<see cref="DedicatedStatement"/>).
/// </summary>
public sealed class CouponStore : IDisposable
{
    private const int Readers = 2;
    private const int MaxBatch = 256;

    private const string RowColumns = "code, book_id, state, user_id, assigned_at, locked_until, redemption_count, redeemed_at, version";

    private readonly NpgsqlDataSource _dataSource;
    private readonly Channel<PendingRead> _reads = Channel.CreateUnbounded<PendingRead>();

    public CouponStore(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        for (int i = 0; i < Readers; i++)
        {
            _ = Task.Run(ReadLoopAsync);
        }
    }

    public Task<CouponRow?> GetAsync(string code)
    {
        var read = new PendingRead(code);
        if (!_reads.Writer.TryWrite(read))
        {
            read.Done.TrySetException(new ObjectDisposedException(nameof(CouponStore)));
        }

        return read.Done.Task;
    }

    public async Task<List<HistoryEntry>> HistoryAsync(string code)
    {
        await using var command = _dataSource.CreateCommand(
            "select at, action, from_state, to_state, user_id, actor_id from coupon_history where code = $1 order by id");
        command.Parameters.AddWithValue(code);
        var entries = new List<HistoryEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new HistoryEntry(
                reader.GetFieldValue<DateTimeOffset>(0),
                (CouponAction)reader.GetInt16(1),
                (CouponState)reader.GetInt16(2),
                (CouponState)reader.GetInt16(3),
                reader.IsDBNull(4) ? null : reader.GetGuid(4),
                reader.IsDBNull(5) ? null : reader.GetGuid(5)));
        }

        return entries;
    }

    public void Dispose() => _reads.Writer.TryComplete();

    private async Task ReadLoopAsync()
    {
        var batch = new List<PendingRead>(MaxBatch);
        await using var statement = new DedicatedStatement(_dataSource, connection => new NpgsqlCommand($"select {RowColumns} from coupons where code = any($1)", connection)
        {
            Parameters = { new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text } },
        });
        while (await _reads.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _reads.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var rows = await ReadRowsAsync(await statement.GetAsync(), batch.Select(r => r.Code).Distinct(StringComparer.Ordinal).ToArray());
                foreach (var read in batch)
                {
                    read.Done.TrySetResult(rows.GetValueOrDefault(read.Code));
                }
            }
            catch (Exception ex)
            {
                foreach (var read in batch)
                {
                    read.Done.TrySetException(ex);
                }

                await statement.DiscardAsync();
            }
        }
    }

    private static async Task<Dictionary<string, CouponRow>> ReadRowsAsync(NpgsqlCommand command, string[] codes)
    {
        command.Parameters[0].Value = codes;
        var rows = new Dictionary<string, CouponRow>(codes.Length, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var row = ReadRow(reader);
            rows[row.Code] = row;
        }

        return rows;
    }

    /// <summary>A coupon row from the reader's current record, its columns in the order of <see cref="RowColumns"/>.</summary>
    internal static CouponRow ReadRow(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetGuid(1),
        (CouponState)reader.GetInt16(2),
        reader.IsDBNull(3) ? null : reader.GetGuid(3),
        reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
        reader.GetInt32(6),
        reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
        reader.GetInt32(8));

    private sealed record PendingRead(string Code)
    {
        public TaskCompletionSource<CouponRow?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
