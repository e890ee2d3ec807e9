using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Load;

/// <summary>A book's coupons by stored state, their largest redemption count, and its stats (row plus pending deltas).</summary>
public sealed record BookCounts(long Unassigned, long Assigned, long Locked, long Redeemed, long MaxRedemptionCount, long OverRedeemed, string Stats, string Actual)
{
    public long Total => Unassigned + Assigned + Locked + Redeemed;
}

/// <summary>The load generator's SQL: seeding users and coupons directly, settling the server, and the checks after each run.</summary>
public sealed class Database(string connectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source = new NpgsqlDataSourceBuilder(connectionString)
    {
        ConnectionStringBuilder = { CommandTimeout = 0, ApplicationName = "couponbooks-load" },
    }.Build();

    public NpgsqlDataSource Source => _source;

    public async Task<string> ServerVersionAsync() => (string)(await ScalarAsync("show server_version"))!;

    public async Task<int> BackendPidAsync() => (int)(await ScalarAsync("select pg_backend_pid()"))!;

    /// <summary>Users with the USER role (no usable password: the generator mints their tokens).</summary>
    public async Task InsertUsersAsync(IReadOnlyList<Guid> ids, string tag)
    {
        await using var command = _source.CreateCommand(
            """
            insert into users (id, email, display_name, role, password_hash)
            select id, 'load-' || $2 || '-' || n || '@example.com', 'load user ' || n, 'USER', '!'
            from unnest($1::uuid[]) with ordinality as t(id, n)
            """);
        command.Parameters.AddWithValue(ids.ToArray());
        command.Parameters.AddWithValue(tag);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// <paramref name="count"/> coupons of a book, code <paramref name="code"/>(i): ASSIGNED to owner(i) with their
    /// "assign" history rows, or UNASSIGNED when <paramref name="owner"/> is null; book_stats raised to match. One
    /// transaction of binary COPYs.
    /// </summary>
    public async Task SeedCouponsAsync(Guid bookId, int count, Func<int, string> code, Func<int, Guid>? owner)
    {
        var now = DateTime.UtcNow;
        await using var connection = await _source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Task.Run(() =>
        {
            using (var coupons = connection.BeginBinaryImport("copy coupons (code, book_id, state, user_id, assigned_at) from stdin (format binary)"))
            {
                for (int i = 0; i < count; i++)
                {
                    coupons.StartRow();
                    coupons.Write(code(i), NpgsqlDbType.Text);
                    coupons.Write(bookId, NpgsqlDbType.Uuid);
                    if (owner is null)
                    {
                        coupons.Write((short)0, NpgsqlDbType.Smallint);
                        coupons.WriteNull();
                        coupons.WriteNull();
                    }
                    else
                    {
                        coupons.Write((short)1, NpgsqlDbType.Smallint);
                        coupons.Write(owner(i), NpgsqlDbType.Uuid);
                        coupons.Write(now, NpgsqlDbType.TimestampTz);
                    }
                }

                coupons.Complete();
            }

            if (owner is not null)
            {
                using var history = connection.BeginBinaryImport(
                    "copy coupon_history (code, at, action, from_state, to_state, user_id, actor_id) from stdin (format binary)");
                for (int i = 0; i < count; i++)
                {
                    history.StartRow();
                    history.Write(code(i), NpgsqlDbType.Text);
                    history.Write(now, NpgsqlDbType.TimestampTz);
                    history.Write((short)0, NpgsqlDbType.Smallint);
                    history.Write((short)0, NpgsqlDbType.Smallint);
                    history.Write((short)1, NpgsqlDbType.Smallint);
                    history.Write(owner(i), NpgsqlDbType.Uuid);
                    history.Write(owner(i), NpgsqlDbType.Uuid);
                }

                history.Complete();
            }
        });
        await using (var stats = new NpgsqlCommand(
            owner is null
                ? "update book_stats set total = total + $2, unassigned = unassigned + $2 where book_id = $1"
                : "update book_stats set total = total + $2, assigned = assigned + $2 where book_id = $1",
            connection, transaction))
        {
            stats.Parameters.AddWithValue(bookId);
            stats.Parameters.AddWithValue((long)count);
            if (await stats.ExecuteNonQueryAsync() != 1)
            {
                throw new LoadFailure($"book {bookId} has no book_stats row");
            }
        }

        await transaction.CommitAsync();
    }

    /// <summary>
    /// Brings the server to the same state before each measured run: VACUUM ANALYZE of the coupon tables (so autovacuum
    /// does not start on the last run's rows during this one) and a CHECKPOINT (so this run does not flush the last
    /// one's pages). False when CHECKPOINT is not allowed (it needs pg_checkpoint; bench/run.sh grants it).
    /// </summary>
    public async Task<bool> SettleAsync()
    {
        await ExecuteAsync("vacuum analyze coupons, coupon_history, book_stats, book_stats_deltas");
        try
        {
            await ExecuteAsync("checkpoint");
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return false;
        }
    }

    /// <summary>The book's coupons by state and its stats, read in one statement (one snapshot) against the maintenance fold.</summary>
    public async Task<BookCounts> BookCountsAsync(Guid bookId)
    {
        await using var command = _source.CreateCommand(
            """
            select count(*) filter (where c.state = 0), count(*) filter (where c.state = 1), count(*) filter (where c.state = 2),
                   count(*) filter (where c.state = 3), coalesce(max(c.redemption_count), 0),
                   count(*) filter (where c.redemption_count > b.max_redemptions_per_coupon),
                   (select format('%s/%s/%s/%s/%s', s.total, s.unassigned + d.u, s.assigned + d.a, s.locked + d.l, s.redeemed + d.r)
                    from book_stats s
                    cross join lateral (select coalesce(sum(unassigned), 0) u, coalesce(sum(assigned), 0) a, coalesce(sum(locked), 0) l,
                                               coalesce(sum(redeemed), 0) r from book_stats_deltas where book_id = s.book_id) d
                    where s.book_id = $1)
            from coupons c join books b on b.id = c.book_id
            where c.book_id = $1
            """);
        command.Parameters.AddWithValue(bookId);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        long[] n = Enumerable.Range(0, 6).Select(reader.GetInt64).ToArray();
        string actual = $"{n[0] + n[1] + n[2] + n[3]}/{n[0]}/{n[1]}/{n[2]}/{n[3]}";
        return new BookCounts(n[0], n[1], n[2], n[3], n[4], n[5], reader.IsDBNull(6) ? "none" : reader.GetString(6), actual);
    }

    /// <summary>History rows of a book's coupons by action (0 assign, 1 lock, 2 unlock, 3 expire, 4 redeem).</summary>
    public async Task<long[]> HistoryByActionAsync(Guid bookId)
    {
        await using var command = _source.CreateCommand(
            """
            select h.action, count(*) from coupon_history h
            where h.code in (select code from coupons where book_id = $1)
            group by h.action
            """);
        command.Parameters.AddWithValue(bookId);
        var counts = new long[5];
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetInt16(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>
    /// Coupons of the book whose history disagrees with their row: more than one assignment, a redemption count other
    /// than their redeem rows, or (lock − unlock − redeem − expire) other than 1 for a LOCKED coupon and 0 for any other.
    /// </summary>
    public async Task<long> InconsistentCouponsAsync(Guid bookId)
    {
        return (long)(await ScalarAsync(
            """
            select count(*) from coupons c
            left join lateral (
                select count(*) filter (where action = 0) as assigns, count(*) filter (where action = 1) as locks,
                       count(*) filter (where action = 2) as unlocks, count(*) filter (where action = 3) as expiries,
                       count(*) filter (where action = 4) as redeems
                from coupon_history h where h.code = c.code) h on true
            where c.book_id = $1
              and (h.assigns > 1 or c.redemption_count <> h.redeems
                   or h.locks - h.unlocks - h.redeems - h.expiries <> case when c.state = 2 then 1 else 0 end)
            """, bookId))!;
    }

    /// <summary>Per coupon of the list: (locks, unlocks, redeems) in its history, and its redemption count and state.</summary>
    public async Task<Dictionary<string, (long Locks, long Unlocks, long Redeems, int RedemptionCount, short State)>> CouponHistoryAsync(string[] codes)
    {
        await using var command = _source.CreateCommand(
            """
            select c.code, count(*) filter (where h.action = 1), count(*) filter (where h.action = 2), count(*) filter (where h.action = 4),
                   c.redemption_count, c.state
            from coupons c left join coupon_history h on h.code = c.code
            where c.code = any($1)
            group by c.code, c.redemption_count, c.state
            """);
        command.Parameters.AddWithValue(codes);
        var result = new Dictionary<string, (long, long, long, int, short)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt32(4), reader.GetInt16(5));
        }

        return result;
    }

    /// <summary>Coupons of the book assigned per user.</summary>
    public async Task<Dictionary<Guid, long>> AssignedPerUserAsync(Guid bookId)
    {
        await using var command = _source.CreateCommand("select user_id, count(*) from coupons where book_id = $1 and user_id is not null group by user_id");
        command.Parameters.AddWithValue(bookId);
        var result = new Dictionary<Guid, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return result;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var command = _source.CreateCommand(sql);
        foreach (object p in parameters)
        {
            command.Parameters.AddWithValue(p);
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql, params object[] parameters)
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

/// <summary>A failure of the run itself (setup, an unreachable service), as opposed to a missed target.</summary>
public sealed class LoadFailure(string message, Exception? inner = null) : Exception(message, inner);
