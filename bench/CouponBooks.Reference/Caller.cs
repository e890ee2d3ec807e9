using System.Security.Claims;

namespace CouponBooks.Reference;

/// <summary>The caller read from a validated token: <c>sub</c> is the user id, <c>role</c> USER or ADMIN.</summary>
public sealed record Caller(Guid UserId, bool IsAdmin)
{
    public const string SubjectClaim = "sub";
    public const string RoleClaim = "role";

    /// <summary>Null when the token names no user (answered as 404, like a coupon one may not see).</summary>
    public static Caller? From(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(SubjectClaim), out var id) ? new Caller(id, principal.IsInRole("ADMIN")) : null;

    /// <summary>The owner, or an admin, may see and change an assigned coupon.</summary>
    public bool May(Guid? owner) => owner is { } o && (IsAdmin || o == UserId);
}
