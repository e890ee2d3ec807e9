using System.Security.Claims;
using CouponBooks.Users;

namespace CouponBooks.Api.Auth;

/// <summary>Who is calling, read from the validated token in one place.</summary>
public sealed record Caller(Guid UserId, UserRole Role)
{
    public const string SubjectClaim = "sub";
    public const string RoleClaim = "role";

    public bool IsAdmin => Role == UserRole.Admin;

    /// <summary>May this caller act for <paramref name="userId"/>: itself, or anyone when it is an admin.</summary>
    public bool MayActFor(Guid userId) => IsAdmin || userId == UserId;

    public static Caller From(ClaimsPrincipal principal) =>
        TryFrom(principal) ?? throw new InvalidOperationException("The endpoint requires an authenticated caller.");

    public static Caller? TryFrom(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(SubjectClaim), out var id)
            ? new Caller(id, principal.IsInRole(UserRoles.Admin) ? UserRole.Admin : UserRole.User)
            : null;
}
