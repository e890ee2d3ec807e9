using System.Buffers.Text;
using System.Text;
using CouponBooks.Books;

namespace CouponBooks.Api.Http;

/// <summary>A page of a listing, as every list endpoint returns it.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Reads <c>limit</c> and <c>cursor</c>; cursors are opaque base64url tokens with a kind prefix.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A page of responses from a page of views, with the cursor for the position after the last item.</summary>
    public static Page<TResponse> ToPage<TView, TResponse>(IEnumerable<TView> items, object? next, string kind, Func<TView, TResponse> map) =>
        new(items.Select(map).ToList(), next is null ? null : EncodeCursor(kind, next.ToString()!));

    public static string EncodeCursor(string kind, string position) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{kind}:{position}"));

    /// <summary>
    /// The position a cursor of <paramref name="kind"/> holds (null without a cursor); false when it is not base64url of
    /// UTF-8 text starting with the kind. Callers check that the position is one such a cursor can hold.
    /// </summary>
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
            string text = StrictUtf8.GetString(Base64Url.DecodeFromChars(cursor));
            if (!text.StartsWith(kind + ":", StringComparison.Ordinal))
            {
                return false;
            }

            position = text[(kind.Length + 1)..];
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            // Not base64url, or bytes that are not UTF-8 (DecoderFallbackException is an ArgumentException).
            return false;
        }
    }

    /// <summary>Validates the limit; adds to <paramref name="errors"/> and returns the default when it is out of range.</summary>
    public static int Limit(int? limit, FieldErrors errors)
    {
        int value = limit ?? DefaultLimit;
        return errors.Check(value is >= 1 and <= MaxLimit, "limit", $"limit must be 1..{MaxLimit}.") ? value : DefaultLimit;
    }

    /// <summary>The id a cursor of <paramref name="kind"/> holds, written as the Api writes ids; null without a cursor.</summary>
    public static Guid? GuidCursor(string? cursor, string kind, FieldErrors errors)
    {
        if (!TryDecodeCursor(cursor, kind, out string? position))
        {
            return Undecodable(errors);
        }

        if (position is null)
        {
            return null;
        }

        // Guid parsing forgives surrounding spaces; a cursor of the Api never has them.
        return position.Length == 36 && Guid.TryParseExact(position, "D", out var id) ? id : Undecodable(errors);
    }

    /// <summary>
    /// The coupon code a cursor of <paramref name="kind"/> holds (a stored code: 3..64 characters of A-Z 0-9 - _), null
    /// without a cursor. Anything else never reaches the database, where a NUL byte, say, fails the statement.
    /// </summary>
    public static string? CodeCursor(string? cursor, string kind, FieldErrors errors)
    {
        if (!TryDecodeCursor(cursor, kind, out string? position) || (position is not null && CouponCode.Validate(position) is not null))
        {
            Undecodable(errors);
            return null;
        }

        return position;
    }

    private static Guid? Undecodable(FieldErrors errors)
    {
        errors.Add("cursor", "The cursor cannot be decoded.");
        return null;
    }
}
