using Npgsql;

namespace CouponBooks.Reference;

/// <summary>A coupon as the REST contract shows it (API.md "Coupon").</summary>
public sealed record CouponResponse(
    string Code, Guid BookId, string State, Guid? UserId, DateTimeOffset? AssignedAt, DateTimeOffset? LockedUntil, int RedemptionCount, DateTimeOffset? RedeemedAt);

/// <summary>The four coupon operations: one statement when they succeed, a second read only to explain a refusal.</summary>
public static class CouponEndpoints
{
    private const short Assigned = 1;
    private const short Locked = 2;
    private const int Attempts = 3;

    public static async Task<IResult> GetAsync(string code, HttpContext http, NpgsqlDataSource db)
    {
        if (Caller.From(http.User) is not { } caller || Normalize(code) is not { } normalized)
        {
            return NotFound(http);
        }

        await using var command = db.CreateCommand(CouponSql.Get);
        command.Parameters.AddWithValue(normalized);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return NotFound(http);
        }

        var coupon = Read(reader, DateTimeOffset.UtcNow);
        return caller.May(coupon.UserId) ? TypedResults.Ok(coupon) : NotFound(http);
    }

    public static async Task<IResult> ChangeAsync(string code, Transition transition, HttpContext http, NpgsqlDataSource db)
    {
        if (Caller.From(http.User) is not { } caller || Normalize(code) is not { } normalized)
        {
            return NotFound(http);
        }

        string statement = transition switch
        {
            Transition.Lock => CouponSql.Lock,
            Transition.Unlock => CouponSql.Unlock,
            _ => CouponSql.Redeem,
        };

        for (int attempt = 1; ; attempt++)
        {
            if (await ExecuteAsync(db, statement, normalized, caller, expiredLock: null) is { } changed)
            {
                return TypedResults.Ok(changed);
            }

            // Nothing changed: read the row to answer why (or, if it has moved on meanwhile, try again).
            if (await ExplainAsync(db, normalized) is not var (state, owner, lockedUntil, active, now))
            {
                return NotFound(http);
            }

            if (!caller.May(owner))
            {
                return NotFound(http);
            }

            if (!active)
            {
                return Conflict(http, "book-not-active", "The book is outside its validity window.", "The coupon's book is outside its validity window.");
            }

            bool ranOut = lockedUntil is { } until && until <= now;
            short current = state == Locked && ranOut ? Assigned : state;
            bool retry = transition switch
            {
                Transition.Lock => current == Assigned,
                _ => current == Locked,
            };
            if (transition == Transition.Lock && state == Locked && ranOut)
            {
                if (await ExecuteAsync(db, CouponSql.LockAfterExpiry, normalized, caller, lockedUntil) is { } relocked)
                {
                    return TypedResults.Ok(relocked);
                }
            }
            else if (transition == Transition.Redeem && current == Assigned && ranOut)
            {
                return Conflict(http, "lock-expired", "The coupon's lock has expired.", $"The coupon's lock ran out at {lockedUntil:O}; lock it again to redeem it.");
            }
            else if (!retry)
            {
                string verb = transition.ToString().ToLowerInvariant();
                string needed = transition == Transition.Lock ? "an ASSIGNED" : "a LOCKED";
                return Conflict(http, "invalid-transition", "The coupon cannot make this move from its current state.",
                    $"The coupon is {StateName(current)}; only {needed} coupon can be {verb}ed.");
            }

            if (attempt >= Attempts)
            {
                return Conflict(http, "invalid-transition", "The coupon cannot make this move from its current state.", "The coupon kept changing; try again.");
            }
        }
    }

    private static async Task<(short State, Guid? Owner, DateTimeOffset? LockedUntil, bool Active, DateTimeOffset Now)?> ExplainAsync(NpgsqlDataSource db, string code)
    {
        await using var command = db.CreateCommand(CouponSql.Explain);
        command.Parameters.AddWithValue(code);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        return (reader.GetInt16(0), reader.IsDBNull(1) ? null : reader.GetGuid(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
            reader.GetBoolean(3), reader.GetFieldValue<DateTimeOffset>(4));
    }

    private static async Task<CouponResponse?> ExecuteAsync(NpgsqlDataSource db, string statement, string code, Caller caller, DateTimeOffset? expiredLock)
    {
        await using var command = db.CreateCommand(statement);
        command.Parameters.AddWithValue(code);
        command.Parameters.AddWithValue(caller.UserId);
        command.Parameters.AddWithValue(caller.IsAdmin);
        if (expiredLock is { } until)
        {
            command.Parameters.AddWithValue(until);
        }

        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader, DateTimeOffset.UtcNow) : null;
    }

    /// <summary>A row of <see cref="CouponSql.Columns"/>; a lock that ran out reads as ASSIGNED.</summary>
    private static CouponResponse Read(NpgsqlDataReader reader, DateTimeOffset now)
    {
        short state = reader.GetInt16(2);
        DateTimeOffset? lockedUntil = reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5);
        if (state == Locked && lockedUntil <= now)
        {
            state = Assigned;
        }

        return new CouponResponse(
            reader.GetString(0),
            reader.GetGuid(1),
            StateName(state),
            reader.IsDBNull(3) ? null : reader.GetGuid(3),
            reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
            state == Locked ? lockedUntil : null,
            reader.GetInt32(6),
            reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7));
    }

    private static string StateName(short state) => state switch
    {
        0 => "UNASSIGNED",
        1 => "ASSIGNED",
        2 => "LOCKED",
        _ => "REDEEMED",
    };

    /// <summary>Codes are stored upper-case: 3..64 of A-Z 0-9 - _. Anything else cannot be a coupon.</summary>
    private static string? Normalize(string code)
    {
        string upper = code.ToUpperInvariant();
        if (upper.Length is < 3 or > 64)
        {
            return null;
        }

        foreach (char c in upper)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_'))
            {
                return null;
            }
        }

        return upper;
    }

    private static IResult NotFound(HttpContext http) => Problem(http, StatusCodes.Status404NotFound, "not-found", "Not found.", "No such coupon.");

    private static IResult Conflict(HttpContext http, string slug, string title, string detail) => Problem(http, StatusCodes.Status409Conflict, slug, title, detail);

    private static IResult Problem(HttpContext http, int status, string slug, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: new Dictionary<string, object?>
        {
            ["code"] = slug,
            ["traceId"] = http.TraceIdentifier,
        });
}
