using System.Collections.Concurrent;
using CouponBooks.Users;

namespace CouponBooks.Api.Auth;

/// <summary>The users whose tokens must stop working, kept in memory and pushed by the cluster as they change.</summary>
public sealed class DisabledUsers : IUserAccessObserver
{
    private volatile ConcurrentDictionary<Guid, byte> _ids = new();

    public bool Contains(Guid userId) => _ids.ContainsKey(userId);

    public void ReplaceAll(IEnumerable<Guid> ids) => _ids = new ConcurrentDictionary<Guid, byte>(ids.Select(id => KeyValuePair.Create(id, (byte)0)));

    public void Set(Guid userId, bool disabled)
    {
        if (disabled)
        {
            _ids[userId] = 0;
        }
        else
        {
            _ids.TryRemove(userId, out _);
        }
    }

    public Task OnAccessChangedAsync(Guid userId, bool disabled)
    {
        Set(userId, disabled);
        return Task.CompletedTask;
    }
}

/// <summary>Subscribes this process to changes of the disabled set and reloads it whole now and then, in case a notice was lost.</summary>
internal sealed class DisabledUsersSubscription(IClusterClient client, DisabledUsers disabledUsers, ILogger<DisabledUsersSubscription> logger) : BackgroundService
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reference = client.CreateObjectReference<IUserAccessObserver>(disabledUsers);
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                // Resolving the grain needs the cluster's manifest, which the client has only once connected.
                var grain = client.GetGrain<IUserAccessGrain>(0);
                disabledUsers.ReplaceAll(await grain.SubscribeAsync(reference));
                wait = Refresh;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogDebug(ex, "Could not subscribe to user access changes yet; retrying");
                wait = RetryDelay;
            }

            try
            {
                await Task.Delay(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
