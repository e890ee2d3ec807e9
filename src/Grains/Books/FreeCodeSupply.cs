using CouponBooks.Coupons;
using Npgsql;

namespace CouponBooks.Books;

/// <summary>
/// A book's free codes in memory, refilled a chunk at a time from the coupons table: a chunk starts at a random
/// free code and continues in code order (wrapping around), and is shuffled, so users get codes in no order.
/// </summary>
internal sealed class FreeCodeSupply(NpgsqlDataSource dataSource, Guid bookId)
{
    private const int Chunk = 1000;
    private readonly Queue<FreeCoupon> _queue = new();
    private string? _next;
    private Task<int>? _refilling;

    /// <summary>The next free code, refilling when empty; null when the book has none left (none that is not in flight).</summary>
    public async ValueTask<FreeCoupon?> TakeAsync(IReadOnlySet<string> inFlight)
    {
        for (int fruitless = 0; ; )
        {
            while (_queue.TryDequeue(out var free))
            {
                if (!inFlight.Contains(free.Code))
                {
                    return free;
                }
            }

            // Interleaved callers share one refill; others may empty the queue before this caller takes from it.
            var refill = _refilling ??= RefillAsync();
            int found;
            try
            {
                found = await refill;
            }
            finally
            {
                // A failed refill (the database unreachable) is forgotten too, so the next caller tries again.
                if (ReferenceEquals(_refilling, refill))
                {
                    _refilling = null;
                }
            }

            if (found == 0 || ++fruitless > 3)
            {
                return _queue.TryDequeue(out var last) && !inFlight.Contains(last.Code) ? last : null;
            }
        }
    }

    private async Task<int> RefillAsync()
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        // The next chunk goes on after the last code read, from a random free code the first time.
        string from = _next ?? await RandomStartAsync(connection);
        var rows = await ReadAsync(connection, _next is null ? "code >= $2" : "code > $2", from, Chunk);
        if (rows.Count < Chunk)
        {
            rows.AddRange(await ReadAsync(connection, _next is null ? "code < $2" : "code <= $2", from, Chunk - rows.Count));
        }

        if (rows.Count == 0)
        {
            return 0;
        }

        _next = rows[^1].Code;
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
        foreach (var row in rows)
        {
            _queue.Enqueue(row);
        }

        return rows.Count;
    }

    private async Task<string> RandomStartAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand(
            "select code from coupons where book_id = $1 and state = 0 order by code offset $2 limit 1", connection);
        command.Parameters.AddWithValue(bookId);
        command.Parameters.AddWithValue(Random.Shared.Next(0, 10_000));
        return await command.ExecuteScalarAsync() as string ?? string.Empty;
    }

    private async Task<List<FreeCoupon>> ReadAsync(NpgsqlConnection connection, string condition, string bound, int limit)
    {
        await using var command = new NpgsqlCommand(
            $"select code, version from coupons where book_id = $1 and state = 0 and {condition} order by code limit $3", connection);
        command.Parameters.AddWithValue(bookId);
        command.Parameters.AddWithValue(bound);
        command.Parameters.AddWithValue(limit);
        var rows = new List<FreeCoupon>(limit);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new FreeCoupon(reader.GetString(0), reader.GetInt32(1)));
        }

        return rows;
    }
}
