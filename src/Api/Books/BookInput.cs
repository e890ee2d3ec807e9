using System.Text.Json;
using System.Text.Json.Nodes;
using CouponBooks.Api.Http;
using CouponBooks.Api.Users;
using CouponBooks.Books;

namespace CouponBooks.Api.Books;

/// <summary>The ranges of a book's settings (API.md "Book"), checked for creation and for merge patches alike.</summary>
public static class BookInput
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;
    public const int MaxRedemptions = 1000;
    public const int MinLockTtl = 5;
    public const int MaxLockTtl = 86_400;

    public static BookSettings? Create(CreateBookRequest request, FieldErrors errors)
    {
        var settings = new BookSettings(
            Name(request.Name, errors) ?? string.Empty,
            Description(request.Description, errors),
            Limit(request.MaxAssignmentsPerUser, "maxAssignmentsPerUser", errors),
            Limit(request.MaxTotalAssignments, "maxTotalAssignments", errors),
            Redemptions(request.MaxRedemptionsPerCoupon ?? BookSettings.DefaultMaxRedemptionsPerCoupon, errors),
            LockTtl(request.LockTtlSeconds ?? BookSettings.DefaultLockTtlSeconds, errors),
            request.ValidFrom?.ToUniversalTime(),
            request.ValidUntil?.ToUniversalTime());
        CheckWindow(settings.ValidFrom, settings.ValidUntil, errors);
        return errors.Any ? null : settings;
    }

    /// <summary>Reads a JSON merge patch; a null member clears a limit or the window, and resets the redemptions and lock TTL to their defaults.</summary>
    public static BookPatch? Patch(JsonObject body, FieldErrors errors)
    {
        var patch = new BookPatch(
            Member(body, "name", errors, (node, e) => (node is null ? Fail<string>(e, "name", "name cannot be null.") : Name(String(node, "name", e), e)) ?? string.Empty),
            Member(body, "description", errors, (node, e) => node is null ? null : Description(String(node, "description", e), e)),
            Member(body, "maxAssignmentsPerUser", errors, (node, e) => Limit(Int(node, "maxAssignmentsPerUser", e), "maxAssignmentsPerUser", e)),
            Member(body, "maxTotalAssignments", errors, (node, e) => Limit(Int(node, "maxTotalAssignments", e), "maxTotalAssignments", e)),
            Member(body, "maxRedemptionsPerCoupon", errors, (node, e) => Redemptions(Int(node, "maxRedemptionsPerCoupon", e) ?? BookSettings.DefaultMaxRedemptionsPerCoupon, e)),
            Member(body, "lockTtlSeconds", errors, (node, e) => LockTtl(Int(node, "lockTtlSeconds", e) ?? BookSettings.DefaultLockTtlSeconds, e)),
            Member(body, "validFrom", errors, (node, e) => Instant(node, "validFrom", e)),
            Member(body, "validUntil", errors, (node, e) => Instant(node, "validUntil", e)));
        if (patch.ValidFrom.IsSet && patch.ValidUntil.IsSet)
        {
            CheckWindow(patch.ValidFrom.Value, patch.ValidUntil.Value, errors);
        }

        return errors.Any ? null : patch;
    }

    private static Patched<T> Member<T>(JsonObject body, string name, FieldErrors errors, Func<JsonNode?, FieldErrors, T> read) =>
        body.TryGetPropertyValue(name, out var node) ? Patched<T>.Set(read(node, errors)) : Patched<T>.Keep;

    private static string? Name(string? value, FieldErrors errors)
    {
        string? name = value?.Trim();
        if (!errors.Check(!string.IsNullOrEmpty(name), "name", "A name is required."))
        {
            return null;
        }

        errors.Check(name!.Length <= MaxNameLength, "name", $"name is at most {MaxNameLength} characters.");
        errors.Check(!UserInput.HasControlCharacters(name), "name", "name must not hold control characters.");
        return name;
    }

    private static string? Description(string? value, FieldErrors errors)
    {
        if (value is null)
        {
            return null;
        }

        errors.Check(value.Length <= MaxDescriptionLength, "description", $"description is at most {MaxDescriptionLength} characters.");
        errors.Check(!value.Contains('\0'), "description", "description must not hold NUL characters.");
        return value;
    }

    private static int? Limit(int? value, string field, FieldErrors errors)
    {
        errors.Check(value is null or >= 1, field, $"{field} is at least 1, or null for no limit.");
        return value;
    }

    private static int Redemptions(int value, FieldErrors errors)
    {
        errors.Check(value is >= 1 and <= MaxRedemptions, "maxRedemptionsPerCoupon", $"maxRedemptionsPerCoupon is 1..{MaxRedemptions}.");
        return value;
    }

    private static int LockTtl(int value, FieldErrors errors)
    {
        errors.Check(value is >= MinLockTtl and <= MaxLockTtl, "lockTtlSeconds", $"lockTtlSeconds is {MinLockTtl}..{MaxLockTtl}.");
        return value;
    }

    private static void CheckWindow(DateTimeOffset? from, DateTimeOffset? until, FieldErrors errors)
    {
        if (from is { } f && until is { } u)
        {
            errors.Check(f <= u, "validFrom", "validFrom must not be after validUntil.");
        }
    }

    private static string? String(JsonNode node, string field, FieldErrors errors)
    {
        if (node.GetValueKind() == JsonValueKind.String)
        {
            return JsonBodies.Text(node, field, errors);
        }

        errors.Add(field, $"{field} must be a string.");
        return null;
    }

    private static int? Int(JsonNode? node, string field, FieldErrors errors)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && node.GetValueKind() == JsonValueKind.Number && value.TryGetValue(out int number))
        {
            return number;
        }

        if (node is JsonValue element && element.TryGetValue(out JsonElement json) && json.ValueKind == JsonValueKind.Number && json.TryGetInt32(out int parsed))
        {
            return parsed;
        }

        errors.Add(field, $"{field} must be a whole number.");
        return null;
    }

    private static DateTimeOffset? Instant(JsonNode? node, string field, FieldErrors errors)
    {
        if (node is null)
        {
            return null;
        }

        if (node.GetValueKind() == JsonValueKind.String && node is JsonValue value)
        {
            try
            {
                return value.GetValue<DateTimeOffset>().ToUniversalTime();
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            {
            }
        }

        errors.Add(field, $"{field} must be an ISO-8601 timestamp or null.");
        return null;
    }

    private static T? Fail<T>(FieldErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return default;
    }
}
