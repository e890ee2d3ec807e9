using Npgsql;

namespace CouponBooks.Users;

/// <summary>A row of the users table.</summary>
public sealed record UserRecord(
    Guid Id,
    string Email,
    string? DisplayName,
    UserRole Role,
    string PasswordHash,
    bool Disabled,
    DateTimeOffset CreatedAt,
    int Version)
{
    public UserView ToView() => new(Id, Email, DisplayName, Role, Disabled, CreatedAt);
}

/// <summary>SQL over the users table.</summary>
public sealed class UserStore(NpgsqlDataSource dataSource)
{
    private const string Columns = "id, email, display_name, role, password_hash, disabled, created_at, version";

    public async Task<UserRecord?> GetAsync(Guid id)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from users where id = $1");
        command.Parameters.AddWithValue(id);
        return await ReadOneAsync(command);
    }

    public async Task<UserRecord?> FindByEmailAsync(string email)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from users where email_key(email) = email_key($1)");
        command.Parameters.AddWithValue(email);
        return await ReadOneAsync(command);
    }

    /// <summary>Inserts a new user; false when the email (compared case-insensitively) is taken.</summary>
    public async Task<UserRecord?> InsertAsync(Guid id, string email, string? displayName, UserRole role, string passwordHash)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            insert into users (id, email, display_name, role, password_hash)
            values ($1, $2, $3, $4, $5)
            on conflict do nothing
            returning {Columns}
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(email);
        command.Parameters.AddWithValue((object?)displayName ?? DBNull.Value);
        command.Parameters.AddWithValue(role.ToWire());
        command.Parameters.AddWithValue(passwordHash);
        return await ReadOneAsync(command);
    }

    /// <summary>Writes the changeable fields if the row still has the version read; null when another writer got there first.</summary>
    public async Task<UserRecord?> UpdateAsync(UserRecord changed)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            update users set display_name = $2, role = $3, disabled = $4, version = version + 1
            where id = $1 and version = $5
            returning {Columns}
            """);
        command.Parameters.AddWithValue(changed.Id);
        command.Parameters.AddWithValue((object?)changed.DisplayName ?? DBNull.Value);
        command.Parameters.AddWithValue(changed.Role.ToWire());
        command.Parameters.AddWithValue(changed.Disabled);
        command.Parameters.AddWithValue(changed.Version);
        return await ReadOneAsync(command);
    }

    public async Task<IReadOnlyList<UserRecord>> ListAsync(Guid? after, int limit)
    {
        await using var command = dataSource.CreateCommand(
            $"select {Columns} from users where $1::uuid is null or id > $1 order by id limit $2");
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit);
        var users = new List<UserRecord>(limit);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            users.Add(Read(reader));
        }

        return users;
    }

    public async Task<HashSet<Guid>> ListDisabledAsync()
    {
        await using var command = dataSource.CreateCommand("select id from users where disabled");
        var ids = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private static async Task<UserRecord?> ReadOneAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    public static UserRecord Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.GetString(3) == UserRoles.Admin ? UserRole.Admin : UserRole.User,
        reader.GetString(4),
        reader.GetBoolean(5),
        reader.GetFieldValue<DateTimeOffset>(6),
        reader.GetInt32(7));
}
