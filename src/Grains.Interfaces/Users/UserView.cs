namespace CouponBooks.Users;

/// <summary>A user as the REST contract shows it.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.UserView")]
public sealed record UserView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Email,
    [property: Id(2)] string? DisplayName,
    [property: Id(3)] UserRole Role,
    [property: Id(4)] bool Disabled,
    [property: Id(5)] DateTimeOffset CreatedAt);

[GenerateSerializer, Immutable, Alias("CouponBooks.Registration")]
public sealed record Registration(
    [property: Id(0)] string Email,
    [property: Id(1)] string Password,
    [property: Id(2)] string? DisplayName,
    [property: Id(3)] UserRole Role);

/// <summary>A merge patch of a user: a null member is left as it is, <see cref="SetDisplayName"/> says whether the display name is set (possibly to null).</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.UserPatch")]
public sealed record UserPatch(
    [property: Id(0)] bool SetDisplayName,
    [property: Id(1)] string? DisplayName,
    [property: Id(2)] UserRole? Role,
    [property: Id(3)] bool? Disabled);

/// <summary>What a successful sign-in or refresh yields; the Api turns it into an access token.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.SignIn")]
public sealed record SignIn(
    [property: Id(0)] Guid UserId,
    [property: Id(1)] UserRole Role,
    [property: Id(2)] string RefreshToken);

[GenerateSerializer, Immutable, Alias("CouponBooks.UserPage")]
public sealed record UserPage(
    [property: Id(0)] IReadOnlyList<UserView> Items,
    [property: Id(1)] Guid? Next);
