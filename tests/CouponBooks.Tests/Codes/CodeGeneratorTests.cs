using System.Text.RegularExpressions;
using CouponBooks.Books;
using CouponBooks.Books.Codes;

namespace CouponBooks.Tests.Codes;

public sealed class CodeGeneratorTests
{
    private static readonly byte[] Key = CodePermutationTests.Keys[3];
    private static readonly byte[] OtherKey = CodePermutationTests.Keys[1];

    [Theory]
    [InlineData("SUMMER-####-????", true)]
    [InlineData("***********", true)]
    [InlineData("************", false)]
    [InlineData("SUMMER-################", true)]
    [InlineData("SUMMER-###################", false)]
    public void Spaces_up_to_2_pow_62_use_the_permutation(string text, bool usesPermutation)
    {
        var pattern = CodePattern.Parse(text);

        Assert.Equal(usesPermutation, new CodeGenerator(pattern, Key).UsesPermutation);
        Assert.Equal(usesPermutation, pattern.Space <= CodePermutation.MaxDomain);
    }

    [Theory]
    [InlineData("A#?")]
    [InlineData("***")]
    [InlineData("X-#")]
    public void Counters_over_the_whole_space_give_every_code_once_out_of_order(string text)
    {
        var pattern = CodePattern.Parse(text);
        var generator = new CodeGenerator(pattern, Key);
        var regex = new Regex(pattern.ToRegex());

        var codes = Generate(generator, (ulong)pattern.Space);

        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.NotEqual(codes.Order(StringComparer.Ordinal), codes);
        Assert.All(codes, code =>
        {
            Assert.Null(CouponCode.Validate(code));
            Assert.Matches(regex, code);
        });
    }

    [Fact]
    public void The_first_100000_codes_of_a_large_pattern_are_distinct_valid_and_match_it()
    {
        var pattern = CodePattern.Parse("summer-####-????");
        var generator = new CodeGenerator(pattern, Key);
        var regex = new Regex(pattern.ToRegex());

        var codes = Generate(generator, 100_000);

        Assert.Equal(codes.Count, codes.ToHashSet().Count);
        Assert.All(codes, code =>
        {
            Assert.Null(CouponCode.Validate(code));
            Assert.True(regex.IsMatch(code) && pattern.Matches(code), code);
        });
    }

    [Fact]
    public void The_same_key_and_counter_give_the_same_code()
    {
        var pattern = CodePattern.Parse("SUMMER-####-????");
        var first = new CodeGenerator(pattern, Key);
        var second = new CodeGenerator(CodePattern.Parse("SUMMER-####-????"), Key.ToArray());

        foreach (ulong counter in new ulong[] { 0, 1, 2, 999, 4_000_000_000, (ulong)pattern.Space - 1 })
        {
            Assert.Equal(first.Generate(counter), second.Generate(counter));
        }
    }

    [Fact]
    public void Different_keys_give_different_sequences_over_the_same_small_space()
    {
        var pattern = CodePattern.Parse("A##");

        var first = Generate(new CodeGenerator(pattern, Key), 100);
        var second = Generate(new CodeGenerator(pattern, OtherKey), 100);

        Assert.Equal(first.Order(), second.Order());
        Assert.True(first.Zip(second).Count(pair => pair.First == pair.Second) < 10);
    }

    [Fact]
    public void Write_fills_only_the_start_of_a_longer_destination()
    {
        var generator = new CodeGenerator(CodePattern.Parse("AB-#"), Key);
        var buffer = "..........".ToCharArray();

        generator.Write(3, buffer);

        Assert.Equal(generator.Generate(3), new string(buffer, 0, 4));
        Assert.Equal("......", new string(buffer, 4, 6));
    }

    [Fact]
    public void Write_refuses_a_counter_beyond_the_space_and_a_huge_pattern()
    {
        var small = new CodeGenerator(CodePattern.Parse("A##"), Key);
        Assert.Throws<ArgumentOutOfRangeException>(() => small.Generate(100));

        var huge = new CodeGenerator(CodePattern.Parse(new string('*', 20)), Key);
        Assert.False(huge.UsesPermutation);
        Assert.Throws<InvalidOperationException>(() => huge.Generate(0));
    }

    [Fact]
    public void A_key_of_the_wrong_length_is_refused_even_for_a_huge_pattern()
    {
        Assert.Throws<ArgumentException>(() => new CodeGenerator(CodePattern.Parse(new string('*', 20)), new byte[8]));
    }

    [Fact]
    public void Random_codes_are_valid_match_the_pattern_and_spread_over_every_symbol()
    {
        var pattern = CodePattern.Parse("big-" + new string('*', 16) + "-#?");
        var generator = new CodeGenerator(pattern, Key);
        var regex = new Regex(pattern.ToRegex());
        var digitCounts = new int[10];
        var letterCounts = new int[26];
        var symbolsSeen = new HashSet<char>();
        const int draws = 100_000;

        var codes = new HashSet<string>();
        for (int i = 0; i < draws; i++)
        {
            string code = generator.GenerateRandom();
            Assert.Null(CouponCode.Validate(code));
            Assert.True(regex.IsMatch(code), code);
            Assert.True(codes.Add(code), $"{code} drawn twice");
            symbolsSeen.Add(code[4]);
            digitCounts[code[^2] - '0']++;
            letterCounts[code[^1] - 'A']++;
        }

        Assert.Equal(36, symbolsSeen.Count);
        // Expected 10,000 per digit with a standard deviation near 95; 600 away would be a bias, not chance.
        Assert.All(digitCounts, count => Assert.InRange(count, 9_400, 10_600));
        Assert.All(letterCounts, count => Assert.InRange(count, 3_846 - 400, 3_846 + 400));
    }

    [Fact]
    public void Generators_can_be_shared_between_threads()
    {
        var generator = new CodeGenerator(CodePattern.Parse("SUMMER-####-????"), Key);
        var expected = Generate(generator, 20_000);

        var results = new string[20_000];
        Parallel.For(0, results.Length, i => results[i] = generator.Generate((ulong)i));
        var random = new string[20_000];
        Parallel.For(0, random.Length, i => random[i] = generator.GenerateRandom());

        Assert.Equal(expected, results);
        Assert.All(random, code => Assert.True(generator.Pattern.Matches(code), code));
    }

    private static List<string> Generate(CodeGenerator generator, ulong count)
    {
        var codes = new List<string>((int)count);
        for (ulong counter = 0; counter < count; counter++)
        {
            codes.Add(generator.Generate(counter));
        }

        return codes;
    }
}
