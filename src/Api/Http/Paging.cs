using System.Buffers.Text;
using System.Text;

namespace CouponBooks.Api.Http;

/// <summary>A page of a listing, as every list endpoint returns it.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Reads <c>limit</c> and <c>cursor</c>; cursors are opaque base64url tokens with a kind prefix.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    /// <summary>A page of responses from a page of views, with the cursor for the position after the last item.</summary>
    public static Page<TResponse> ToPage<TView, TResponse>(IEnumerable<TView> items, object? next, string kind, Func<TView, TResponse> map) =>
        new(items.Select(map).ToList(), next is null ? null : EncodeCursor(kind, next.ToString()!));

    public static string EncodeCursor(string kind, string position) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{kind}:{position}"));

    public static bool TryDecodeCursor(string? cursor, string kind, out string? position)
    {
        position = null;
        if (cursor is null)
        {
            return true;
        }

        if (cursor.Length is 0 or > 512)
        {
            return false;
        }

        try
        {
            string text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            if (!text.StartsWith(kind + ":", StringComparison.Ordinal))
            {
                return false;
            }

            position = text[(kind.Length + 1)..];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Validates the limit; adds to <paramref name="errors"/> and returns the default when it is out of range.</summary>
    public static int Limit(int? limit, FieldErrors errors)
    {
        int value = limit ?? DefaultLimit;
        return errors.Check(value is >= 1 and <= MaxLimit, "limit", $"limit must be 1..{MaxLimit}.") ? value : DefaultLimit;
    }

    public static Guid? GuidCursor(string? cursor, string kind, FieldErrors errors)
    {
        if (!TryDecodeCursor(cursor, kind, out string? position))
        {
            errors.Add("cursor", "The cursor cannot be decoded.");
            return null;
        }

        if (position is null)
        {
            return null;
        }

        if (!Guid.TryParse(position, out var id))
        {
            errors.Add("cursor", "The cursor cannot be decoded.");
            return null;
        }

        return id;
    }
}
