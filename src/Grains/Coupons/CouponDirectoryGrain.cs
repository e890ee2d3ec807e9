using System.Text;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace CouponBooks.Coupons;

[StatelessWorker]
internal sealed class CouponDirectoryGrain(NpgsqlDataSource dataSource) : Grain, ICouponDirectoryGrain
{
    /// <summary>The columns of a coupon as it reads now: a run-out lock is ASSIGNED, with no lockedUntil.</summary>
    public const string ViewColumns =
        """
        code, book_id,
        case when state = 2 and locked_until <= now() then 1::smallint else state end,
        user_id, assigned_at,
        case when state = 2 and locked_until > now() then locked_until end,
        redemption_count, redeemed_at
        """;

    public async Task<CouponPage> ListAsync(CouponQuery query)
    {
        var sql = new StringBuilder($"select {ViewColumns} from coupons where true");
        await using var command = dataSource.CreateCommand();
        if (query.BookId is { } bookId)
        {
            sql.Append(" and book_id = @book");
            command.Parameters.Add(new NpgsqlParameter("book", NpgsqlDbType.Uuid) { Value = bookId });
        }

        if (query.UserId is { } userId)
        {
            sql.Append(" and user_id = @user");
            command.Parameters.Add(new NpgsqlParameter("user", NpgsqlDbType.Uuid) { Value = userId });
        }

        sql.Append(query.State switch
        {
            CouponState.Unassigned => " and state = 0",
            CouponState.Assigned => " and (state = 1 or (state = 2 and locked_until <= now()))",
            CouponState.Locked => " and state = 2 and locked_until > now()",
            CouponState.Redeemed => " and state = 3",
            _ => "",
        });
        if (query.AfterCode is { } after)
        {
            sql.Append(" and code > @after");
            command.Parameters.Add(new NpgsqlParameter("after", NpgsqlDbType.Text) { Value = after });
        }

        sql.Append(" order by code limit @limit");
        command.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Integer) { Value = query.Limit + 1 });
        command.CommandText = sql.ToString();

        var coupons = new List<CouponView>(query.Limit + 1);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            coupons.Add(Read(reader));
        }

        var items = coupons.Take(query.Limit).ToList();
        return new CouponPage(items, coupons.Count > query.Limit ? items[^1].Code : null);
    }

    public static CouponView Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetGuid(1),
        (CouponState)reader.GetInt16(2),
        reader.IsDBNull(3) ? null : reader.GetGuid(3),
        reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
        reader.GetInt32(6),
        reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7));
}
