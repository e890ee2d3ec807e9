using Npgsql;
using Orleans.Concurrency;

namespace CouponBooks.Books;

[StatelessWorker]
internal sealed class BookDirectoryGrain(NpgsqlDataSource dataSource) : Grain, IBookDirectoryGrain
{
    public async Task<BookPage> ListAsync(Guid? after, int limit)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select b.id, b.name, b.description, b.max_assignments_per_user, b.max_total_assignments, b.max_redemptions_per_coupon,
                   b.lock_ttl_seconds, b.valid_from, b.valid_until, b.created_at, b.version, {BookStore.StatsSelect}
            join books b on b.id = s.book_id
            where $1::uuid is null or b.id > $1
            order by b.id limit $2
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit + 1);
        var books = new List<BookView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var book = BookStore.Read(reader);
            books.Add(new BookView(book.Id, book.Settings, book.CreatedAt, BookStore.ReadStats(reader, 11)));
        }

        var items = books.Take(limit).ToList();
        return new BookPage(items, books.Count > limit ? items[^1].Id : null);
    }
}
