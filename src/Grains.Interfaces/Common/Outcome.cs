namespace CouponBooks;

/// <summary>A business refusal: a value, not an exception. <see cref="Field"/> names the input at fault for a validation refusal.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.Refusal")]
public sealed record Refusal(
    [property: Id(0)] ErrorCode Code,
    [property: Id(1)] string Detail,
    [property: Id(2)] TimeSpan? RetryAfter = null,
    [property: Id(3)] string? Field = null);

/// <summary>Either the value a command produced or the reason it was refused.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.Outcome`1")]
public sealed record Outcome<T>(
    [property: Id(0)] T? Value,
    [property: Id(1)] Refusal? Refusal)
{
    public bool IsRefused => Refusal is not null;

    public static Outcome<T> Success(T value) => new(value, null);

    public static implicit operator Outcome<T>(Refusal refusal) => new(default, refusal);
}
