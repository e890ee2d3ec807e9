namespace CouponBooks.Reference;

public enum Transition
{
    Lock,
    Unlock,
    Redeem,
}

/// <summary>
/// The reference's SQL. A transition is one statement: a conditional UPDATE of the coupon (owner or admin, the state
/// it needs, the book inside its validity window), its history row and its book_stats delta (the append-only
/// table the real write path uses, so both keep the book's stats right without a hot row), committed on its own.
/// Parameters: $1 code, $2 caller id, $3 caller is admin.
/// </summary>
public static class CouponSql
{
    public const string Columns = "code, book_id, state, user_id, assigned_at, locked_until, redemption_count, redeemed_at";

    public const string Get = $"select {Columns} from coupons where code = $1";

    private const string Mine = "c.code = $1 and c.user_id is not null and (c.user_id = $2 or $3)";

    private const string Active =
        "b.id = c.book_id and (b.valid_from is null or b.valid_from <= now()) and (b.valid_until is null or now() <= b.valid_until)";

    private const string Returning =
        "returning c.code, c.book_id, c.state, c.user_id, c.assigned_at, c.locked_until, c.redemption_count, c.redeemed_at";

    public const string Lock =
        $"""
        with changed as (
            update coupons c set state = 2, locked_until = now() + b.lock_ttl_seconds * interval '1 second', version = c.version + 1
            from books b
            where {Mine} and c.state = 1 and {Active}
            {Returning}
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select code, now(), 1, 1, 2, user_id, $2 from changed
        ),
        deltas as (
            insert into book_stats_deltas (book_id, unassigned, assigned, locked, redeemed)
            select book_id, 0, -1, 1, 0 from changed
        )
        select {Columns} from changed
        """;

    /// <summary>Lock of a coupon whose lock ran out but was not released yet ($4: that lock's end, recorded as its expiry).</summary>
    public const string LockAfterExpiry =
        $"""
        with changed as (
            update coupons c set state = 2, locked_until = now() + b.lock_ttl_seconds * interval '1 second', version = c.version + 1
            from books b
            where {Mine} and c.state = 2 and c.locked_until = $4 and c.locked_until <= now() and {Active}
            {Returning}
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select code, $4, 3, 2, 1, user_id, null from changed
            union all
            select code, now(), 1, 1, 2, user_id, $2 from changed
        )
        select {Columns} from changed
        """;

    public const string Unlock =
        $"""
        with changed as (
            update coupons c set state = 1, locked_until = null, version = c.version + 1
            from books b
            where {Mine} and c.state = 2 and c.locked_until > now() and {Active}
            {Returning}
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select code, now(), 2, 2, 1, user_id, $2 from changed
        ),
        deltas as (
            insert into book_stats_deltas (book_id, unassigned, assigned, locked, redeemed)
            select book_id, 0, 1, -1, 0 from changed
        )
        select {Columns} from changed
        """;

    public const string Redeem =
        $"""
        with changed as (
            update coupons c
            set state = case when c.redemption_count + 1 >= b.max_redemptions_per_coupon then 3 else 1 end,
                locked_until = null, redemption_count = c.redemption_count + 1, redeemed_at = now(), version = c.version + 1
            from books b
            where {Mine} and c.state = 2 and c.locked_until > now() and {Active}
            {Returning}
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select code, now(), 4, 2, state, user_id, $2 from changed
        ),
        deltas as (
            insert into book_stats_deltas (book_id, unassigned, assigned, locked, redeemed)
            select book_id, 0, (state = 1)::int, -1, (state = 3)::int from changed
        )
        select {Columns} from changed
        """;

    /// <summary>Why a transition changed nothing: the row as it is now, whether its book is active, and the server's clock.</summary>
    public const string Explain =
        """
        select c.state, c.user_id, c.locked_until,
               (b.valid_from is null or b.valid_from <= now()) and (b.valid_until is null or now() <= b.valid_until), now()
        from coupons c join books b on b.id = c.book_id
        where c.code = $1
        """;
}
