using System.ComponentModel.DataAnnotations;
using CouponBooks.Users;

namespace CouponBooks.Api.Users;

/// <summary>A user as the REST contract shows it.</summary>
public sealed record UserResponse(Guid Id, string Email, string? DisplayName, [property: AllowedValues("USER", "ADMIN")] string Role, bool Disabled, DateTimeOffset CreatedAt)
{
    public static UserResponse From(UserView user) =>
        new(user.Id, user.Email, user.DisplayName, user.Role.ToWire(), user.Disabled, user.CreatedAt);
}
