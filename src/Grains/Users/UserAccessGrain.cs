using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace CouponBooks.Users;

/// <summary>
/// Keeps the set of disabled users (read from the users table on activation, and again at most every
/// <see cref="Reload"/> as the Api processes subscribe again) and pushes changes to subscribed Api processes.
/// </summary>
/// <remarks>
/// Kept alive while idle: its subscribers are in memory only (they subscribe again every few seconds in case it moved).
/// The reads from the table catch a change whose notice never came (a patch that committed but failed before telling).
/// </remarks>
[KeepAlive]
internal sealed class UserAccessGrain(UserStore store, TimeProvider clock, ILogger<UserAccessGrain> logger) : Grain, IUserAccessGrain
{
    private static readonly TimeSpan Reload = TimeSpan.FromSeconds(10);
    private readonly ObserverManager<IUserAccessObserver> _observers = new(TimeSpan.FromMinutes(5), logger);
    private HashSet<Guid> _disabled = [];
    private DateTimeOffset _readAt;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _disabled = await store.ListDisabledAsync();
        _readAt = clock.GetUtcNow();
    }

    public async Task<IReadOnlyCollection<Guid>> SubscribeAsync(IUserAccessObserver observer)
    {
        _observers.Subscribe(observer, observer);
        if (clock.GetUtcNow() - _readAt >= Reload)
        {
            var read = await store.ListDisabledAsync();
            _readAt = clock.GetUtcNow();
            var changes = read.Except(_disabled).Select(id => (id, true)).Concat(_disabled.Except(read).Select(id => (id, false))).ToList();
            _disabled = read;
            foreach (var (userId, disabled) in changes)
            {
                logger.LogWarning("User {UserId} is {State} in the users table without a notice of it; telling the Api processes", userId, disabled ? "disabled" : "enabled");
                await _observers.Notify(o => o.OnAccessChangedAsync(userId, disabled));
            }
        }

        return _disabled.ToArray();
    }

    public Task UnsubscribeAsync(IUserAccessObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public async Task SetDisabledAsync(Guid userId, bool disabled)
    {
        bool changed = disabled ? _disabled.Add(userId) : _disabled.Remove(userId);
        if (changed)
        {
            await _observers.Notify(o => o.OnAccessChangedAsync(userId, disabled));
        }
    }
}
