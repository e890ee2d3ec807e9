using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Text;

namespace CouponBooks.Books.Codes;

/// <summary>
/// A parsed code pattern such as <c>SUMMER-####-????</c>: <c>#</c> stands for a digit, <c>?</c> for an
/// upper-case letter, <c>*</c> for either (0-9 then A-Z), and every other character of the code alphabet
/// for itself. Index <c>i</c> in [0, <see cref="Space"/>) maps to a code by mixed radix with the FIRST
/// placeholder most significant, so index order is the ordinal order of the codes (0 gives
/// <c>SUMMER-0000-AAAA</c>, 1 gives <c>SUMMER-0000-AAAB</c>).
/// </summary>
public sealed class CodePattern
{
    public const char DigitPlaceholder = '#';
    public const char LetterPlaceholder = '?';
    public const char DigitOrLetterPlaceholder = '*';

    private readonly PatternPlaceholder[] _placeholders;
    private readonly ulong _spaceAsUInt64;
    private readonly bool _spaceFitsUInt64;

    private CodePattern(string text, PatternPlaceholder[] placeholders, string literalPrefix)
    {
        Text = text;
        _placeholders = placeholders;
        LiteralPrefix = literalPrefix;

        BigInteger space = BigInteger.One;
        foreach (var placeholder in placeholders)
        {
            space *= placeholder.Radix;
        }

        Space = space;
        _spaceFitsUInt64 = space <= ulong.MaxValue;
        _spaceAsUInt64 = _spaceFitsUInt64 ? (ulong)space : ulong.MaxValue;
    }

    /// <summary>The normalized pattern (literal letters upper-cased).</summary>
    public string Text { get; }

    /// <summary>The length of the pattern and of every code it gives.</summary>
    public int Length => Text.Length;

    /// <summary>How many placeholder characters the pattern has.</summary>
    public int Placeholders => _placeholders.Length;

    /// <summary>The number of distinct codes the pattern can form.</summary>
    public BigInteger Space { get; }

    /// <summary>
    /// The literal characters before the first placeholder (<c>SUMMER-</c>), shared by every code of the
    /// pattern. May contain '_', which is a wildcard in SQL LIKE: escape it there or use a range scan.
    /// </summary>
    public string LiteralPrefix { get; }

    internal ReadOnlySpan<PatternPlaceholder> PlaceholderSlots => _placeholders;

    /// <summary>Parses <paramref name="text"/>, upper-casing lower-case ASCII letters first.</summary>
    public static bool TryParse(
        string? text,
        [NotNullWhen(true)] out CodePattern? pattern,
        [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "the pattern is empty";
            return false;
        }

        if (text.Length is < CouponCode.MinLength or > CouponCode.MaxLength)
        {
            error = $"the pattern gives codes of {text.Length} characters; codes must have {CouponCode.MinLength}..{CouponCode.MaxLength}";
            return false;
        }

        string normalized = CouponCode.Normalize(text);
        var placeholders = new List<PatternPlaceholder>(normalized.Length);
        int firstPlaceholder = -1;
        for (int i = 0; i < normalized.Length; i++)
        {
            char c = normalized[i];
            int radix = RadixOf(c);
            if (radix != 0)
            {
                placeholders.Add(new PatternPlaceholder(i, radix));
                if (firstPlaceholder < 0)
                {
                    firstPlaceholder = i;
                }
            }
            else if (!CouponCode.IsAllowed(c))
            {
                error = $"the character {Describe(text, i)} at position {i + 1} is not allowed; a pattern holds A-Z, 0-9, '-', '_' "
                    + "and the placeholders '#' (digit), '?' (letter) and '*' (digit or letter)";
                return false;
            }
        }

        if (firstPlaceholder < 0)
        {
            error = "the pattern has no placeholder; use '#' for a digit, '?' for a letter or '*' for either";
            return false;
        }

        pattern = new CodePattern(normalized, [.. placeholders], normalized[..firstPlaceholder]);
        error = null;
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="FormatException"/> saying why it is not a pattern.</summary>
    public static CodePattern Parse(string text) =>
        TryParse(text, out var pattern, out string? error) ? pattern : throw new FormatException(error);

    /// <summary>Writes the code for <paramref name="index"/> in [0, <see cref="Space"/>) into the first <see cref="Length"/> characters of <paramref name="destination"/>.</summary>
    public void Format(ulong index, Span<char> destination)
    {
        if (_spaceFitsUInt64 && index >= _spaceAsUInt64)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the pattern {Text} has only {_spaceAsUInt64} codes");
        }

        Span<char> code = CopyTemplate(destination);
        var placeholders = _placeholders;
        for (int i = placeholders.Length - 1; i >= 0; i--)
        {
            var placeholder = placeholders[i];
            // Constant divisors let the JIT turn each division into a multiply.
            ulong quotient = placeholder.Radix switch
            {
                10 => index / 10,
                26 => index / 26,
                _ => index / 36,
            };
            code[placeholder.Position] = Symbol(placeholder.Radix, (int)(index - quotient * (uint)placeholder.Radix));
            index = quotient;
        }
    }

    /// <summary>Writes the code for <paramref name="index"/> in [0, <see cref="Space"/>), for spaces beyond 64 bits.</summary>
    public void Format(BigInteger index, Span<char> destination)
    {
        if (index.Sign < 0 || index >= Space)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the pattern {Text} has only {Space} codes");
        }

        if (index <= ulong.MaxValue)
        {
            Format((ulong)index, destination);
            return;
        }

        Span<char> code = CopyTemplate(destination);
        for (int i = _placeholders.Length - 1; i >= 0; i--)
        {
            var placeholder = _placeholders[i];
            index = BigInteger.DivRem(index, placeholder.Radix, out BigInteger digit);
            code[placeholder.Position] = Symbol(placeholder.Radix, (int)digit);
        }
    }

    /// <summary>Whether <paramref name="code"/> (normalized) is one of the codes this pattern forms.</summary>
    public bool Matches(ReadOnlySpan<char> code)
    {
        if (code.Length != Text.Length)
        {
            return false;
        }

        for (int i = 0; i < code.Length; i++)
        {
            char c = code[i];
            bool fits = Text[i] switch
            {
                DigitPlaceholder => char.IsAsciiDigit(c),
                LetterPlaceholder => char.IsAsciiLetterUpper(c),
                DigitOrLetterPlaceholder => char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c),
                char literal => c == literal,
            };
            if (!fits)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A PostgreSQL (ARE) regular expression, anchored <c>^...$</c>, matching exactly the codes of this pattern,
    /// e.g. <c>^SUMMER-[0-9]{4}-[A-Z]{4}$</c>. Use with the case-sensitive <c>~</c> operator.
    /// </summary>
    public string ToRegex()
    {
        var regex = new StringBuilder(Text.Length * 3 + 2).Append('^');
        int i = 0;
        while (i < Text.Length)
        {
            char c = Text[i];
            string? symbolClass = c switch
            {
                DigitPlaceholder => "[0-9]",
                LetterPlaceholder => "[A-Z]",
                DigitOrLetterPlaceholder => "[0-9A-Z]",
                _ => null,
            };
            if (symbolClass is null)
            {
                // Literals are A-Z, 0-9, '_' or '-', all plain outside brackets, and no literal goes inside one.
                regex.Append(c);
                i++;
                continue;
            }

            int run = 1;
            while (i + run < Text.Length && Text[i + run] == c)
            {
                run++;
            }

            regex.Append(symbolClass);
            if (run > 1)
            {
                regex.Append('{').Append(run).Append('}');
            }

            i += run;
        }

        return regex.Append('$').ToString();
    }

    public override string ToString() => Text;

    internal Span<char> CopyTemplate(Span<char> destination)
    {
        if (destination.Length < Text.Length)
        {
            throw new ArgumentException($"the destination holds {destination.Length} characters; codes of {Text} have {Text.Length}", nameof(destination));
        }

        Span<char> code = destination[..Text.Length];
        Text.AsSpan().CopyTo(code);
        return code;
    }

    internal static char Symbol(int radix, int value) => radix == 26
        ? (char)('A' + value)
        : (char)(value < 10 ? '0' + value : 'A' + value - 10);

    private static int RadixOf(char c) => c switch
    {
        DigitPlaceholder => 10,
        LetterPlaceholder => 26,
        DigitOrLetterPlaceholder => 36,
        _ => 0,
    };

    private static string Describe(string text, int index)
    {
        if (Rune.TryGetRuneAt(text, index, out Rune rune))
        {
            return Rune.IsControl(rune) ? $"U+{rune.Value:X4}" : $"'{rune}' (U+{rune.Value:X4})";
        }

        return $"U+{(int)text[index]:X4}";
    }
}

/// <summary>One placeholder of a pattern: where it sits in the code and how many symbols it takes (10, 26 or 36).</summary>
internal readonly record struct PatternPlaceholder(int Position, int Radix);
