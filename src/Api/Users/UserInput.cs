using System.Net.Mail;
using CouponBooks.Api.Http;

namespace CouponBooks.Api.Users;

/// <summary>The rules for what users type: emails, passwords, display names.</summary>
public static class UserInput
{
    public const int MinPasswordLength = 10;
    public const int MaxPasswordLength = 256;
    public const int MaxDisplayNameLength = 100;
    public const int MaxEmailLength = 254;

    /// <summary>Trims and checks an email; null when it is missing or not an address.</summary>
    public static string? Email(string? value, FieldErrors errors, string field = "email")
    {
        string? email = value?.Trim();
        if (string.IsNullOrEmpty(email))
        {
            errors.Add(field, "An email is required.");
            return null;
        }

        bool valid = email.Length <= MaxEmailLength
            && MailAddress.TryCreate(email, out var address)
            && address.Address == email
            && email.IndexOf('@') is > 0 and var at && at < email.Length - 1 && !email.Any(char.IsWhiteSpace) && !HasControlCharacters(email);
        return errors.Check(valid, field, "The email is not a valid address.") ? email : null;
    }

    /// <summary>Control characters (NUL among them, which PostgreSQL cannot store) are never part of an email or a name.</summary>
    public static bool HasControlCharacters(string value) => value.Any(char.IsControl);

    public static string? DisplayName(string? value, FieldErrors errors)
    {
        string? name = value?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        errors.Check(name.Length <= MaxDisplayNameLength, "displayName", $"displayName is at most {MaxDisplayNameLength} characters.");
        errors.Check(!HasControlCharacters(name), "displayName", "displayName must not hold control characters.");
        return name;
    }
}
