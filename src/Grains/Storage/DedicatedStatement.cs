using Npgsql;

namespace CouponBooks.Storage;

/// <summary>
/// One statement prepared on a connection of its own, for a loop that runs it over and over (the coupon store's
/// reads, the coupon writer's batches): each run is one round trip, with no pool checkout and none of the session
/// reset that returning a connection to the pool costs the server. After a failure, <see cref="DiscardAsync"/> drops the
/// connection; the next <see cref="GetAsync"/> opens and prepares a new one.
/// </summary>
internal sealed class DedicatedStatement(NpgsqlDataSource dataSource, Func<NpgsqlConnection, NpgsqlCommand> create) : IAsyncDisposable
{
    private NpgsqlConnection? _connection;
    private NpgsqlCommand? _command;

    public async ValueTask<NpgsqlCommand> GetAsync(CancellationToken cancellationToken = default)
    {
        if (_command is { } command && _connection!.FullState == System.Data.ConnectionState.Open)
        {
            return command;
        }

        await DiscardAsync();
        _connection = await dataSource.OpenConnectionAsync(cancellationToken);
        _command = create(_connection);
        await _command.PrepareAsync(cancellationToken);
        return _command;
    }

    public ValueTask DisposeAsync() => DiscardAsync();

    /// <summary>Drops the connection (after a failure, it may be broken); the next use opens a new one.</summary>
    public async ValueTask DiscardAsync()
    {
        _command = null;
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }
}
