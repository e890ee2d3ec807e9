using CouponBooks.Users;
using Npgsql;
using Orleans.Concurrency;

namespace CouponBooks.Pools;

[StatelessWorker]
internal sealed class PoolDirectoryGrain(NpgsqlDataSource dataSource) : Grain, IPoolDirectoryGrain
{
    public async Task<PoolPage> ListAsync(Guid? after, int limit)
    {
        await using var command = dataSource.CreateCommand(
            """
            select id, name, description, created_at, (select count(*) from pool_members m where m.pool_id = p.id)
            from pools p where $1::uuid is null or id > $1 order by id limit $2
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit + 1);
        var pools = new List<PoolView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pools.Add(PoolStore.Read(reader));
        }

        var items = pools.Take(limit).ToList();
        return new PoolPage(items, pools.Count > limit ? items[^1].Id : null);
    }

    public async Task<UserPage> MembersAsync(Guid poolId, Guid? after, int limit)
    {
        await using var command = dataSource.CreateCommand(
            """
            select u.id, u.email, u.display_name, u.role, u.password_hash, u.disabled, u.created_at, u.version
            from pool_members m join users u on u.id = m.user_id
            where m.pool_id = $1 and ($2::uuid is null or m.user_id > $2)
            order by m.user_id limit $3
            """);
        command.Parameters.AddWithValue(poolId);
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit + 1);
        var users = new List<UserView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            users.Add(UserStore.Read(reader).ToView());
        }

        var items = users.Take(limit).ToList();
        return new UserPage(items, users.Count > limit ? items[^1].Id : null);
    }
}
