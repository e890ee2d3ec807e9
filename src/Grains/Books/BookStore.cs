using Npgsql;

namespace CouponBooks.Books;

/// <summary>A row of the books table.</summary>
public sealed record BookRecord(Guid Id, BookSettings Settings, DateTimeOffset CreatedAt, int Version);

/// <summary>SQL over books and book_stats.</summary>
public sealed class BookStore(NpgsqlDataSource dataSource)
{
    private const string Columns =
        "id, name, description, max_assignments_per_user, max_total_assignments, max_redemptions_per_coupon, lock_ttl_seconds, valid_from, valid_until, created_at, version";

    /// <summary>
    /// The stats of a book: its row plus the deltas not yet folded in, with run-out locks (not yet released
    /// by the sweep) moved from locked to assigned.
    /// </summary>
    public const string StatsSelect =
        """
        s.total, s.unassigned + d.unassigned,
        s.assigned + d.assigned + x.expired, s.locked + d.locked - x.expired, s.redeemed + d.redeemed
        from book_stats s
        cross join lateral (select coalesce(sum(unassigned), 0)::bigint as unassigned, coalesce(sum(assigned), 0)::bigint as assigned,
                                   coalesce(sum(locked), 0)::bigint as locked, coalesce(sum(redeemed), 0)::bigint as redeemed
                            from book_stats_deltas where book_id = s.book_id) d
        cross join lateral (select count(*) as expired from coupons c
                            where c.book_id = s.book_id and c.state = 2 and c.locked_until <= now()) x
        """;

    public async Task<BookRecord?> GetAsync(Guid id)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from books where id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    public async Task<BookStats> GetStatsAsync(Guid id)
    {
        await using var command = dataSource.CreateCommand($"select {StatsSelect} where s.book_id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadStats(reader, 0) : new BookStats(0, 0, 0, 0, 0);
    }

    /// <summary>Creates the book and its stats row in one transaction.</summary>
    public async Task<BookRecord> InsertAsync(Guid id, BookSettings settings)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var insert = new NpgsqlCommand(
            $"""
            insert into books (id, name, description, max_assignments_per_user, max_total_assignments,
                               max_redemptions_per_coupon, lock_ttl_seconds, valid_from, valid_until)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            returning {Columns}
            """, connection, transaction);
        insert.Parameters.AddWithValue(id);
        AddSettings(insert, settings);
        BookRecord created;
        await using (var reader = await insert.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            created = Read(reader);
        }

        await using var stats = new NpgsqlCommand("insert into book_stats (book_id) values ($1)", connection, transaction);
        stats.Parameters.AddWithValue(id);
        await stats.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return created;
    }

    /// <summary>Writes new settings if the row still has the version read; null when another writer got there first.</summary>
    public async Task<BookRecord?> UpdateAsync(Guid id, BookSettings settings, int expectedVersion)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            update books set name = $2, description = $3, max_assignments_per_user = $4, max_total_assignments = $5,
                             max_redemptions_per_coupon = $6, lock_ttl_seconds = $7, valid_from = $8, valid_until = $9,
                             version = version + 1
            where id = $1 and version = $10
            returning {Columns}
            """);
        command.Parameters.AddWithValue(id);
        AddSettings(command, settings);
        command.Parameters.AddWithValue(expectedVersion);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    public static BookStats ReadStats(NpgsqlDataReader reader, int first) => new(
        reader.GetInt64(first), reader.GetInt64(first + 1), reader.GetInt64(first + 2), reader.GetInt64(first + 3), reader.GetInt64(first + 4));

    public static BookRecord Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        new BookSettings(
            reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetInt32(3),
            reader.IsDBNull(4) ? null : reader.GetInt32(4),
            reader.GetInt32(5),
            reader.GetInt32(6),
            reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
            reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8)),
        reader.GetFieldValue<DateTimeOffset>(9),
        reader.GetInt32(10));

    private static void AddSettings(NpgsqlCommand command, BookSettings settings)
    {
        command.Parameters.AddWithValue(settings.Name);
        command.Parameters.AddWithValue((object?)settings.Description ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)settings.MaxAssignmentsPerUser ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)settings.MaxTotalAssignments ?? DBNull.Value);
        command.Parameters.AddWithValue(settings.MaxRedemptionsPerCoupon);
        command.Parameters.AddWithValue(settings.LockTtlSeconds);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = settings.ValidFrom, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = settings.ValidUntil, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
    }
}
