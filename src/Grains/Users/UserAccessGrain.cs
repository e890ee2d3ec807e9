using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace CouponBooks.Users;

/// <summary>Keeps the set of disabled users (rebuilt from the users table on activation) and pushes changes to subscribed Api processes.</summary>
/// <remarks>Kept alive while idle: its subscribers are in memory only (they subscribe again every few seconds in case it moved).</remarks>
[KeepAlive]
internal sealed class UserAccessGrain(UserStore store, ILogger<UserAccessGrain> logger) : Grain, IUserAccessGrain
{
    private readonly ObserverManager<IUserAccessObserver> _observers = new(TimeSpan.FromMinutes(5), logger);
    private HashSet<Guid> _disabled = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _disabled = await store.ListDisabledAsync();
    }

    public Task<IReadOnlyCollection<Guid>> SubscribeAsync(IUserAccessObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.FromResult<IReadOnlyCollection<Guid>>(_disabled.ToArray());
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
