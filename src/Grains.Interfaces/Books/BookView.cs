namespace CouponBooks.Books;

/// <summary>A book's settings, with the defaults and ranges of the REST contract.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.BookSettings")]
public sealed record BookSettings(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] int? MaxAssignmentsPerUser,
    [property: Id(3)] int? MaxTotalAssignments,
    [property: Id(4)] int MaxRedemptionsPerCoupon,
    [property: Id(5)] int LockTtlSeconds,
    [property: Id(6)] DateTimeOffset? ValidFrom,
    [property: Id(7)] DateTimeOffset? ValidUntil)
{
    public const int DefaultMaxRedemptionsPerCoupon = 1;
    public const int DefaultLockTtlSeconds = 300;

    public bool IsActiveAt(DateTimeOffset now) => (ValidFrom is null || ValidFrom <= now) && (ValidUntil is null || now <= ValidUntil);
}

/// <summary>A book's coupons by current state; an expired lock counts as assigned. The four states add up to the total.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.BookStats")]
public sealed record BookStats(
    [property: Id(0)] long Total,
    [property: Id(1)] long Unassigned,
    [property: Id(2)] long Assigned,
    [property: Id(3)] long Locked,
    [property: Id(4)] long Redeemed);

[GenerateSerializer, Immutable, Alias("CouponBooks.BookView")]
public sealed record BookView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] BookSettings Settings,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] BookStats Stats);

/// <summary>A member of a merge patch: not sent, or sent with a value (possibly null).</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.Patched`1")]
public readonly record struct Patched<T>([property: Id(0)] bool IsSet, [property: Id(1)] T Value)
{
    public T Or(T current) => IsSet ? Value : current;

    public static Patched<T> Keep => default;

    public static Patched<T> Set(T value) => new(true, value);
}

/// <summary>A JSON merge patch of a book's settings: members not sent are kept, a null clears.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.BookPatch")]
public sealed record BookPatch(
    [property: Id(0)] Patched<string> Name,
    [property: Id(1)] Patched<string?> Description,
    [property: Id(2)] Patched<int?> MaxAssignmentsPerUser,
    [property: Id(3)] Patched<int?> MaxTotalAssignments,
    [property: Id(4)] Patched<int> MaxRedemptionsPerCoupon,
    [property: Id(5)] Patched<int> LockTtlSeconds,
    [property: Id(6)] Patched<DateTimeOffset?> ValidFrom,
    [property: Id(7)] Patched<DateTimeOffset?> ValidUntil)
{
    public BookSettings ApplyTo(BookSettings current) => new(
        Name.Or(current.Name),
        Description.Or(current.Description),
        MaxAssignmentsPerUser.Or(current.MaxAssignmentsPerUser),
        MaxTotalAssignments.Or(current.MaxTotalAssignments),
        MaxRedemptionsPerCoupon.Or(current.MaxRedemptionsPerCoupon),
        LockTtlSeconds.Or(current.LockTtlSeconds),
        ValidFrom.Or(current.ValidFrom),
        ValidUntil.Or(current.ValidUntil));
}

/// <summary>One line of an upload that was refused or skipped.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.CodeIssue")]
public sealed record CodeIssue([property: Id(0)] int Line, [property: Id(1)] string Value, [property: Id(2)] string Reason);

/// <summary>What an import stored: <c>accepted</c> codes, and the lines skipped (at most 100 listed, all counted).</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.ImportReport")]
public sealed record ImportReport(
    [property: Id(0)] long Accepted,
    [property: Id(1)] IReadOnlyList<CodeIssue> Skipped,
    [property: Id(2)] long SkippedCount);

/// <summary>An import's answer: a report (done now), a job (large uploads), or a refusal with its offending lines.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.ImportOutcome")]
public sealed record ImportOutcome(
    [property: Id(0)] ImportReport? Report,
    [property: Id(1)] Guid? JobId,
    [property: Id(2)] Refusal? Refusal,
    [property: Id(3)] IReadOnlyList<CodeIssue>? Offenders);
