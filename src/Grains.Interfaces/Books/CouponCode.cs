namespace CouponBooks.Books;

/// <summary>The rules every coupon code follows: 3..64 characters of A-Z, 0-9, '-' and '_', stored upper-case.</summary>
public static class CouponCode
{
    public const int MinLength = 3;
    public const int MaxLength = 64;

    public static bool IsAllowed(char c) => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_';

    /// <summary>Upper-cases ASCII letters; everything else is left for <see cref="Validate"/> to judge.</summary>
    public static string Normalize(string value) => string.Create(value.Length, value, static (span, source) =>
    {
        for (int i = 0; i < source.Length; i++)
        {
            char c = source[i];
            span[i] = c is >= 'a' and <= 'z' ? (char)(c - 32) : c;
        }
    });

    /// <summary>Null when <paramref name="code"/> (already normalized) is a valid code, else why it is not.</summary>
    public static string? Validate(ReadOnlySpan<char> code)
    {
        if (code.Length < MinLength)
        {
            return $"shorter than {MinLength} characters";
        }

        if (code.Length > MaxLength)
        {
            return $"longer than {MaxLength} characters";
        }

        foreach (char c in code)
        {
            if (!IsAllowed(c))
            {
                return "characters other than A-Z, 0-9, '-' and '_'";
            }
        }

        return null;
    }
}
