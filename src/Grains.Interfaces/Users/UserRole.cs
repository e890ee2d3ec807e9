namespace CouponBooks.Users;

public enum UserRole
{
    User,
    Admin,
}

public static class UserRoles
{
    public const string User = "USER";
    public const string Admin = "ADMIN";

    public static string ToWire(this UserRole role) => role == UserRole.Admin ? Admin : User;

    public static bool TryParse(string? value, out UserRole role)
    {
        switch (value?.ToUpperInvariant())
        {
            case User: role = UserRole.User; return true;
            case Admin: role = UserRole.Admin; return true;
            default: role = default; return false;
        }
    }
}
