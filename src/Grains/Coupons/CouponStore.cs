using Npgsql;

namespace CouponBooks.Coupons;

/// <summary>Reads of one coupon's row and history (writes go through <see cref="CouponWriter"/>).</summary>
public sealed class CouponStore(NpgsqlDataSource dataSource)
{
    public async Task<CouponRow?> GetAsync(string code)
    {
        await using var command = dataSource.CreateCommand(
            "select code, book_id, state, user_id, assigned_at, locked_until, redemption_count, redeemed_at, version from coupons where code = $1");
        command.Parameters.AddWithValue(code);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        return new CouponRow(
            reader.GetString(0),
            reader.GetGuid(1),
            (CouponState)reader.GetInt16(2),
            reader.IsDBNull(3) ? null : reader.GetGuid(3),
            reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
            reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
            reader.GetInt32(6),
            reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
            reader.GetInt32(8));
    }

    public async Task<List<HistoryEntry>> HistoryAsync(string code)
    {
        await using var command = dataSource.CreateCommand(
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
}
