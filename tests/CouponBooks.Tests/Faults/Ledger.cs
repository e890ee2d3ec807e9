using Npgsql;

namespace CouponBooks.Tests.Faults;

/// <summary>What the database holds for the load's books, checked against every answer the load was given.</summary>
public sealed class Ledger
{
    private readonly Dictionary<string, CouponFacts> _coupons = new(StringComparer.Ordinal);

    private Ledger()
    {
    }

    public int AcknowledgedAssignments { get; private set; }

    public int AcknowledgedLocks { get; private set; }

    public int AcknowledgedRedemptions { get; private set; }

    public int Acknowledged => AcknowledgedAssignments + AcknowledgedLocks + AcknowledgedRedemptions;

    /// <summary>Acknowledged changes the database does not hold.</summary>
    public List<string> Lost { get; } = [];

    /// <summary>Coupons given or redeemed more often than allowed, and limits passed.</summary>
    public List<string> Duplicated { get; } = [];

    /// <summary>Rows that contradict each other (a state its history does not end in, a count its history does not show).</summary>
    public List<string> Inconsistent { get; } = [];

    public static async Task<Ledger> CheckAsync(string connectionString, MixedLoad load)
    {
        var ledger = new Ledger();
        await ledger.ReadAsync(connectionString, load.AllBooks.Select(b => b.Id).ToArray());
        ledger.Compare(load);
        return ledger;
    }

    public string Summary() =>
        $"acknowledged writes: {Acknowledged} ({AcknowledgedAssignments} assignments, {AcknowledgedLocks} locks, {AcknowledgedRedemptions} redemptions); " +
        $"lost: {Lost.Count}; duplicated or over a limit: {Duplicated.Count}; inconsistent rows: {Inconsistent.Count}";

    public string Problems() => string.Join("\n", Lost.Concat(Duplicated).Concat(Inconsistent).Take(30));

    private async Task ReadAsync(string connectionString, Guid[] books)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand(
            "select code, book_id, state, user_id, redemption_count from coupons where book_id = any($1)", connection))
        {
            command.Parameters.AddWithValue(books);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                _coupons[reader.GetString(0)] = new CouponFacts(reader.GetGuid(1), reader.GetInt16(2), reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetInt32(4));
            }
        }

        await using (var command = new NpgsqlCommand(
            """
            select h.code, h.action, h.to_state, h.user_id
            from coupon_history h join coupons c on c.code = h.code
            where c.book_id = any($1)
            order by h.id
            """, connection))
        {
            command.Parameters.AddWithValue(books);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var facts = _coupons[reader.GetString(0)];
                facts.History.Add((reader.GetInt16(1), reader.GetInt16(2), reader.IsDBNull(3) ? null : reader.GetGuid(3)));
            }
        }
    }

    private void Compare(MixedLoad load)
    {
        var acknowledged = load.Samples.Where(s => s.Acknowledged && s.Op != LoadOp.Read).ToList();
        AcknowledgedAssignments = acknowledged.Count(s => s.Op == LoadOp.Assign);
        AcknowledgedLocks = acknowledged.Count(s => s.Op == LoadOp.Lock);
        AcknowledgedRedemptions = acknowledged.Count(s => s.Op == LoadOp.Redeem);

        foreach (var group in acknowledged.Where(s => s.Code is not null).GroupBy(s => s.Code!))
        {
            if (!_coupons.TryGetValue(group.Key, out var facts))
            {
                Lost.Add($"{group.Key}: acknowledged {group.Count()} change(s), but no such coupon row");
                continue;
            }

            int Count(int action) => facts.History.Count(h => h.Action == action);
            int locks = group.Count(s => s.Op == LoadOp.Lock);
            int redeems = group.Count(s => s.Op == LoadOp.Redeem);
            if (locks > Count(1))
            {
                Lost.Add($"{group.Key}: {locks} lock(s) acknowledged, {Count(1)} in its history");
            }

            if (redeems > Count(4))
            {
                Lost.Add($"{group.Key}: {redeems} redemption(s) acknowledged, {Count(4)} in its history");
            }
        }

        // Every acknowledged assignment: the coupon is that user's, and its history says so.
        foreach (var assign in acknowledged.Where(s => s.Op == LoadOp.Assign))
        {
            if (assign.Code is null || !_coupons.TryGetValue(assign.Code, out var facts))
            {
                Lost.Add($"assignment to {assign.UserId} in {assign.BookId} acknowledged as {assign.Code ?? "(no code)"}, but no such coupon row");
            }
            else if (facts.UserId != assign.UserId || !facts.History.Any(h => h.Action == 0 && h.UserId == assign.UserId))
            {
                Lost.Add($"{assign.Code}: assignment to {assign.UserId} acknowledged, but the row holds {facts.UserId?.ToString() ?? "nobody"}");
            }
        }

        foreach (var twice in acknowledged.Where(s => s.Op == LoadOp.Assign).GroupBy(s => s.Code).Where(g => g.Count() > 1))
        {
            Duplicated.Add($"{twice.Key}: acknowledged as given {twice.Count()} times");
        }

        var books = load.AllBooks.ToDictionary(b => b.Id);
        foreach (var (code, facts) in _coupons)
        {
            var book = books[facts.BookId];
            int assigns = facts.History.Count(h => h.Action == 0);
            int redeems = facts.History.Count(h => h.Action == 4);
            if (assigns > 1)
            {
                Duplicated.Add($"{code}: assigned {assigns} times");
            }

            if (redeems > book.MaxRedemptions || facts.RedemptionCount > book.MaxRedemptions)
            {
                Duplicated.Add($"{code}: redeemed {redeems} times ({facts.RedemptionCount} counted), {book.MaxRedemptions} allowed");
            }

            if (redeems != facts.RedemptionCount)
            {
                Inconsistent.Add($"{code}: redemption_count {facts.RedemptionCount}, {redeems} redemptions in its history");
            }

            // A run-out lock is released by the sweep; the load's locks last 300 s, so the last entry is the state.
            short expected = facts.History.Count == 0 ? (short)0 : facts.History[^1].ToState;
            if (facts.State != expected)
            {
                Inconsistent.Add($"{code}: state {facts.State}, its history ends in {expected}");
            }
        }

        foreach (var book in load.AllBooks)
        {
            var given = _coupons.Values.Where(c => c.BookId == book.Id && c.UserId is not null).ToList();
            if (book.MaxTotal is { } total && given.Count > total)
            {
                Duplicated.Add($"book {book.Id}: {given.Count} coupons given, {total} allowed");
            }

            if (book.MaxPerUser is { } perUser)
            {
                foreach (var user in given.GroupBy(c => c.UserId).Where(g => g.Count() > perUser))
                {
                    Duplicated.Add($"book {book.Id}: user {user.Key} holds {user.Count()} coupons, {perUser} allowed");
                }
            }
        }
    }

    private sealed record CouponFacts(Guid BookId, short State, Guid? UserId, int RedemptionCount)
    {
        public List<(short Action, short ToState, Guid? UserId)> History { get; } = [];
    }
}
