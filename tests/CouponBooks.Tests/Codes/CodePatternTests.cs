using System.Numerics;
using System.Text.RegularExpressions;
using CouponBooks.Books;
using CouponBooks.Books.Codes;

namespace CouponBooks.Tests.Codes;

public sealed class CodePatternTests
{
    [Fact]
    public void A_pattern_with_literals_and_placeholders_is_parsed()
    {
        Assert.True(CodePattern.TryParse("SUMMER-####-????", out var pattern, out string? error));
        Assert.Null(error);
        Assert.Equal("SUMMER-####-????", pattern.Text);
        Assert.Equal(16, pattern.Length);
        Assert.Equal(8, pattern.Placeholders);
        Assert.Equal("SUMMER-", pattern.LiteralPrefix);
        Assert.Equal(BigInteger.Pow(10, 4) * BigInteger.Pow(26, 4), pattern.Space);
    }

    [Fact]
    public void Lower_case_letters_are_upper_cased()
    {
        var pattern = CodePattern.Parse("summer-####");

        Assert.Equal("SUMMER-####", pattern.Text);
        Assert.Equal("SUMMER-", pattern.LiteralPrefix);
    }

    [Theory]
    [InlineData("####", "10000")]
    [InlineData("X??", "676")]
    [InlineData("***", "46656")]
    [InlineData("A_#", "10")]
    [InlineData("#?*", "9360")]
    public void The_space_is_the_product_of_the_placeholder_radices(string text, string space)
    {
        Assert.Equal(BigInteger.Parse(space), CodePattern.Parse(text).Space);
    }

    [Theory]
    [InlineData("#AB", "")]
    [InlineData("AB#CD", "AB")]
    [InlineData("A_B-*", "A_B-")]
    public void The_literal_prefix_stops_at_the_first_placeholder(string text, string prefix)
    {
        Assert.Equal(prefix, CodePattern.Parse(text).LiteralPrefix);
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("SUMMER", "no placeholder")]
    [InlineData("A-_", "no placeholder")]
    [InlineData("#", "1 characters")]
    [InlineData("??", "2 characters")]
    [InlineData("AB", "2 characters")]
    [InlineData("AB!#", "'!' (U+0021) at position 3")]
    [InlineData("ABé#", "'é' (U+00E9) at position 3")]
    [InlineData("AB #", "' ' (U+0020) at position 3")]
    [InlineData("AB\t#", "U+0009 at position 3")]
    [InlineData("A\U0001F600#", "'\U0001F600' (U+1F600) at position 2")]
    [InlineData("ab.#", "'.' (U+002E) at position 3")]
    public void An_invalid_pattern_is_refused_with_the_reason(string? text, string reason)
    {
        Assert.False(CodePattern.TryParse(text, out var pattern, out string? error));
        Assert.Null(pattern);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void The_space_of_64_placeholders_goes_beyond_64_bits()
    {
        Assert.Equal(BigInteger.Pow(36, 64), CodePattern.Parse(new string('*', 64)).Space);
    }

    [Fact]
    public void A_pattern_of_65_characters_is_refused_and_one_of_64_is_accepted()
    {
        Assert.False(CodePattern.TryParse(new string('#', 65), out _, out string? error));
        Assert.Contains("65 characters", error);

        Assert.True(CodePattern.TryParse(new string('#', 64), out var pattern, out _));
        Assert.Equal(BigInteger.Pow(10, 64), pattern.Space);
    }

    [Fact]
    public void Parse_throws_a_format_exception_with_the_reason()
    {
        var exception = Assert.Throws<FormatException>(() => CodePattern.Parse("ABC"));
        Assert.Contains("no placeholder", exception.Message);
    }

    [Theory]
    [InlineData("SUMMER-####-????", "^SUMMER-[0-9]{4}-[A-Z]{4}$")]
    [InlineData("*_*", "^[0-9A-Z]_[0-9A-Z]$")]
    [InlineData("#?*#", "^[0-9][A-Z][0-9A-Z][0-9]$")]
    [InlineData("-**-", "^-[0-9A-Z]{2}-$")]
    public void The_regex_describes_the_pattern(string text, string regex)
    {
        Assert.Equal(regex, CodePattern.Parse(text).ToRegex());
    }

    [Theory]
    [InlineData("#?*")]
    [InlineData("A-#")]
    [InlineData("_*?")]
    [InlineData("-#-")]
    public void The_regex_matches_exactly_the_codes_of_the_pattern(string text)
    {
        var pattern = CodePattern.Parse(text);
        var regex = new Regex(pattern.ToRegex(), RegexOptions.CultureInvariant);
        var codes = AllCodes(pattern).ToHashSet();

        // Every string of the pattern's length over the alphabet plus a lower-case letter and a stray symbol.
        const string candidates = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_a!";
        Span<char> candidate = stackalloc char[3];
        foreach (char a in candidates)
        {
            foreach (char b in candidates)
            {
                foreach (char c in candidates)
                {
                    candidate[0] = a;
                    candidate[1] = b;
                    candidate[2] = c;
                    string value = new(candidate);
                    bool isCode = codes.Contains(value);
                    Assert.True(isCode == regex.IsMatch(value), $"{value}: code {isCode}, regex {!isCode}");
                    Assert.Equal(isCode, pattern.Matches(value));
                }
            }
        }
    }

    [Theory]
    [InlineData("SUMMER-4821-KQZA", true)]
    [InlineData("SUMMER-0000-AAAA", true)]
    [InlineData("SUMMER-9999-ZZZZ", true)]
    [InlineData("SUMMER-482-KQZA", false)]
    [InlineData("SUMMER-48210-KQZA", false)]
    [InlineData("summer-4821-KQZA", false)]
    [InlineData("SUMMER-4821-kqza", false)]
    [InlineData("SUMMER_4821-KQZA", false)]
    [InlineData("SUMMER-4821-KQZ1", false)]
    [InlineData("SUMMER-A821-KQZA", false)]
    [InlineData("XSUMMER-4821-KQZA", false)]
    [InlineData("SUMMER-4821-KQZAX", false)]
    [InlineData("SUMMERX4821-KQZA", false)]
    [InlineData("", false)]
    public void The_regex_rejects_near_misses(string code, bool matches)
    {
        var pattern = CodePattern.Parse("SUMMER-####-????");

        Assert.Equal(matches, Regex.IsMatch(code, pattern.ToRegex()));
        Assert.Equal(matches, pattern.Matches(code));
    }

    [Theory]
    [InlineData("#?*")]
    [InlineData("X??")]
    [InlineData("A-#-")]
    [InlineData("***")]
    public void Format_covers_the_whole_space_once_in_ordinal_order(string text)
    {
        var pattern = CodePattern.Parse(text);
        var codes = AllCodes(pattern);

        Assert.Equal((int)pattern.Space, codes.Count);
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.Equal(codes.Order(StringComparer.Ordinal), codes);
        Assert.All(codes, code =>
        {
            Assert.Null(CouponCode.Validate(code));
            Assert.True(pattern.Matches(code));
        });
    }

    [Fact]
    public void The_first_placeholder_is_the_most_significant()
    {
        var pattern = CodePattern.Parse("SUMMER-####-????");

        Assert.Equal("SUMMER-0000-AAAA", FormatAt(pattern, 0));
        Assert.Equal("SUMMER-0000-AAAB", FormatAt(pattern, 1));
        Assert.Equal("SUMMER-0000-AABA", FormatAt(pattern, 26));
        Assert.Equal("SUMMER-0001-AAAA", FormatAt(pattern, 26 * 26 * 26 * 26));
        Assert.Equal("SUMMER-9999-ZZZZ", FormatAt(pattern, (ulong)(pattern.Space - 1)));
    }

    [Fact]
    public void Format_of_a_big_index_agrees_with_the_64_bit_one_and_reaches_the_last_code()
    {
        var pattern = CodePattern.Parse(new string('*', 30));
        Span<char> fromUInt64 = stackalloc char[30];
        Span<char> fromBigInteger = stackalloc char[30];

        foreach (ulong index in new[] { 0UL, 1UL, 35UL, 36UL, 123_456_789_012UL, ulong.MaxValue })
        {
            pattern.Format(index, fromUInt64);
            pattern.Format(new BigInteger(index), fromBigInteger);
            Assert.Equal(fromUInt64.ToString(), fromBigInteger.ToString());
        }

        pattern.Format(pattern.Space - 1, fromBigInteger);
        Assert.Equal(new string('Z', 30), fromBigInteger.ToString());
        pattern.Format(new BigInteger(ulong.MaxValue) + 1, fromBigInteger);
        Assert.Equal(new string('0', 17) + "3W5E11264SGSG", fromBigInteger.ToString()); // 2^64 in base 36
    }

    [Fact]
    public void Format_refuses_an_index_outside_the_space_or_a_short_destination()
    {
        var pattern = CodePattern.Parse("A##");
        var buffer = new char[3];

        Assert.Throws<ArgumentOutOfRangeException>(() => pattern.Format(100UL, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => pattern.Format(new BigInteger(100), buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => pattern.Format(BigInteger.MinusOne, buffer));
        Assert.Throws<ArgumentException>(() => pattern.Format(0UL, new char[2]));
    }

    private static string FormatAt(CodePattern pattern, ulong index)
    {
        var code = new char[pattern.Length];
        pattern.Format(index, code);
        return new string(code);
    }

    private static List<string> AllCodes(CodePattern pattern)
    {
        var codes = new List<string>();
        for (ulong index = 0; index < (ulong)pattern.Space; index++)
        {
            codes.Add(FormatAt(pattern, index));
        }

        return codes;
    }
}
