using Npgsql;

namespace CouponBooks.Pools;

/// <summary>SQL over pools and pool_members.</summary>
public sealed class PoolStore(NpgsqlDataSource dataSource)
{
    public async Task<PoolView?> GetAsync(Guid id)
    {
        await using var command = dataSource.CreateCommand(
            "select id, name, description, created_at, (select count(*) from pool_members m where m.pool_id = p.id) from pools p where id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    public async Task<PoolView> InsertAsync(Guid id, string name, string? description)
    {
        await using var command = dataSource.CreateCommand(
            "insert into pools (id, name, description) values ($1, $2, $3) returning id, name, description, created_at, 0::bigint");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(name);
        command.Parameters.AddWithValue((object?)description ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return Read(reader);
    }

    public async Task<bool> DeleteAsync(Guid id)
    {
        await using var command = dataSource.CreateCommand("delete from pools where id = $1");
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync() > 0;
    }

    /// <summary>Adds the users named by id or email (case-insensitive), set-based; reports what matched no user.</summary>
    public async Task<MembersAdded> AddMembersAsync(Guid poolId, IReadOnlyList<Guid> userIds, IReadOnlyList<string> emails)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var known = new HashSet<Guid>();
        var unknown = new List<string>();

        if (userIds.Count > 0)
        {
            await using var ids = new NpgsqlCommand("select id from users where id = any($1)", connection);
            ids.Parameters.AddWithValue(userIds.Distinct().ToArray());
            await using var reader = await ids.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                known.Add(reader.GetGuid(0));
            }

            unknown.AddRange(userIds.Where(id => !known.Contains(id)).Distinct().Select(id => id.ToString()));
        }

        if (emails.Count > 0)
        {
            // Matched by the database's email key (as register and login compare them); each given email answers for itself.
            var byEmail = new Dictionary<string, Guid>(StringComparer.Ordinal);
            await using var lookup = new NpgsqlCommand(
                "select e.given, u.id from unnest($1::text[]) as e(given) join users u on email_key(u.email) = email_key(e.given)", connection);
            lookup.Parameters.AddWithValue(emails.Select(e => e.Trim()).Distinct(StringComparer.Ordinal).ToArray());
            await using (var reader = await lookup.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    byEmail[reader.GetString(0)] = reader.GetGuid(1);
                }
            }

            foreach (string email in emails.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (byEmail.TryGetValue(email.Trim(), out var id))
                {
                    known.Add(id);
                }
                else
                {
                    unknown.Add(email);
                }
            }
        }

        long added = 0;
        if (known.Count > 0)
        {
            await using var insert = new NpgsqlCommand(
                "insert into pool_members (pool_id, user_id) select $1, unnest($2::uuid[]) on conflict do nothing", connection);
            insert.Parameters.AddWithValue(poolId);
            insert.Parameters.AddWithValue(known.ToArray());
            added = await insert.ExecuteNonQueryAsync();
        }

        return new MembersAdded(added, known.Count - added, unknown);
    }

    public async Task<bool> RemoveMemberAsync(Guid poolId, Guid userId)
    {
        await using var command = dataSource.CreateCommand("delete from pool_members where pool_id = $1 and user_id = $2");
        command.Parameters.AddWithValue(poolId);
        command.Parameters.AddWithValue(userId);
        return await command.ExecuteNonQueryAsync() > 0;
    }

    public async Task<List<Guid>> MembersAsync(Guid poolId)
    {
        await using var command = dataSource.CreateCommand("select user_id from pool_members where pool_id = $1 order by user_id");
        command.Parameters.AddWithValue(poolId);
        var members = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            members.Add(reader.GetGuid(0));
        }

        return members;
    }

    public static PoolView Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4));
}
