using System.Collections.Concurrent;

namespace CouponBooks.Books;

/// <summary>
/// Book settings for the coupons of this silo (lock TTL, validity window, redemptions), read from the books table
/// and kept for a second: a change made through BookGrain shows at once on its own silo and within a second elsewhere.
/// </summary>
public sealed class BookSettingsCache(BookStore store, TimeProvider clock)
{
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Guid, (BookSettings? Settings, DateTimeOffset ReadAt)> _books = new();

    public async ValueTask<BookSettings?> GetAsync(Guid bookId)
    {
        var now = clock.GetUtcNow();
        if (_books.TryGetValue(bookId, out var cached) && now - cached.ReadAt < Freshness)
        {
            return cached.Settings;
        }

        var settings = (await store.GetAsync(bookId))?.Settings;
        _books[bookId] = (settings, now);
        return settings;
    }

    public void Set(Guid bookId, BookSettings settings) => _books[bookId] = (settings, clock.GetUtcNow());
}
