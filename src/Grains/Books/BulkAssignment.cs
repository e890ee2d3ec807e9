using Npgsql;

namespace CouponBooks.Books;

/// <summary>
/// Gives many free codes to users in one statement: each row conditional on the version read and on still being
/// UNASSIGNED, with its history row (tagged with the distribution job) and the book's stats delta.
/// </summary>
internal sealed class BulkAssignment(NpgsqlDataSource dataSource)
{
    private const string Statement =
        """
        with input as (
            select * from unnest($1::text[], $2::uuid[], $3::int[]) as t(code, user_id, expected_version)
        ),
        updated as (
            update coupons c set state = 1, user_id = i.user_id, assigned_at = $4, version = c.version + 1
            from input i
            where c.code = i.code and c.version = i.expected_version and c.state = 0 and c.book_id = $7
            returning c.code, c.user_id
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id, job_id)
            select code, $4, 0, 0, 1, user_id, $5, $6 from updated
        ),
        deltas as (
            insert into book_stats_deltas (book_id, unassigned, assigned, locked, redeemed)
            select $7, -count(*), count(*), 0, 0 from updated having count(*) > 0
        )
        select code from updated
        """;

    /// <summary>Writes the batch; answers the codes that were given (the others had been taken meanwhile).</summary>
    public async Task<HashSet<string>> AssignAsync(Guid bookId, IReadOnlyList<(Coupons.FreeCoupon Coupon, Guid UserId)> batch, DateTimeOffset at, Guid actorId, Guid? jobId)
    {
        await using var command = dataSource.CreateCommand(Statement);
        command.Parameters.AddWithValue(batch.Select(b => b.Coupon.Code).ToArray());
        command.Parameters.AddWithValue(batch.Select(b => b.UserId).ToArray());
        command.Parameters.AddWithValue(batch.Select(b => b.Coupon.Version).ToArray());
        command.Parameters.AddWithValue(at);
        command.Parameters.AddWithValue(actorId);
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = jobId, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(bookId);
        var given = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            given.Add(reader.GetString(0));
        }

        return given;
    }

    /// <summary>What a distribution job gave already, per user (a resumed job gives only the rest).</summary>
    public async Task<Dictionary<Guid, int>> GivenByJobAsync(Guid jobId)
    {
        await using var command = dataSource.CreateCommand("select user_id, count(*) from coupon_history where job_id = $1 and action = 0 group by user_id");
        command.Parameters.AddWithValue(jobId);
        var given = new Dictionary<Guid, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            given[reader.GetGuid(0)] = (int)reader.GetInt64(1);
        }

        return given;
    }

    /// <summary>The book's free codes now (for a dry run).</summary>
    public async Task<long> FreeCountAsync(Guid bookId)
    {
        await using var command = dataSource.CreateCommand("select count(*) from coupons where book_id = $1 and state = 0");
        command.Parameters.AddWithValue(bookId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
