using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Books;

[Collection(ApiCollection.Name)]
public sealed class CodeGenerationTests(ApiFixture api)
{
    [Fact]
    public async Task Generation_stores_exactly_count_new_codes_of_the_pattern_and_updates_stats()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = UniquePrefix();

        var job = await BookCalls.GenerateAsync(admin, bookId, $"{prefix.ToLowerInvariant()}-####-??", 500);

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal("generate-codes", job.GetProperty("kind").GetString());
        Assert.Equal(500, job.GetProperty("total").GetInt64());
        Assert.Equal(500, job.GetProperty("processed").GetInt64());
        Assert.Equal(500, job.GetProperty("result").GetProperty("generated").GetInt64());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("error").ValueKind);

        var codes = await TestDb.StringsAsync(api.ConnectionString, "select code from coupons where book_id = $1", bookId);
        Assert.Equal(500, codes.Count);
        Assert.Equal(500, codes.Distinct().Count());
        Assert.All(codes, code => Assert.Matches($"^{prefix}-[0-9]{{4}}-[A-Z]{{2}}$", code));
        // A keyed permutation: not the first 500 codes of the space in counting order (those would all be ...-0000-AA.. to -0000-TF),
        // but spread over the whole space.
        Assert.True(codes.Select(c => c.Split('-')[1]).Distinct().Count() > 400, "codes spread over the digit groups");

        var stats = (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats");
        Assert.Equal((500, 500, 0, 0, 0), (stats.GetProperty("total").GetInt64(), stats.GetProperty("unassigned").GetInt64(),
            stats.GetProperty("assigned").GetInt64(), stats.GetProperty("locked").GetInt64(), stats.GetProperty("redeemed").GetInt64()));
    }

    [Fact]
    public async Task Two_books_sharing_a_pattern_never_share_a_code()
    {
        using var admin = await api.AdminClientAsync();
        var first = await BookCalls.CreateBookAsync(admin);
        var second = await BookCalls.CreateBookAsync(admin);
        string pattern = $"{UniquePrefix()}###";

        await BookCalls.GenerateAsync(admin, first, pattern, 200);
        await BookCalls.GenerateAsync(admin, second, pattern, 200);
        var third = await BookCalls.GenerateAsync(admin, first, pattern, 100);

        Assert.Equal("succeeded", third.GetProperty("state").GetString());
        Assert.Equal(500, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(distinct code) from coupons where book_id = any($1)", new[] { first, second }));
        Assert.Equal(300, await BookCalls.CountCodesAsync(api.ConnectionString, first));
    }

    [Fact]
    public async Task Capacity_is_at_most_half_of_the_space_and_a_refused_request_stores_nothing()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string pattern = $"{UniquePrefix()}##";   // 100 codes, so at most 50 ever

        var tooMany = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern, count = 51 });
        await ApiCalls.AssertProblemAsync(tooMany, HttpStatusCode.BadRequest, "pattern-capacity-exceeded");
        Assert.Equal(0, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));

        Assert.Equal("succeeded", (await BookCalls.GenerateAsync(admin, bookId, pattern, 30)).GetProperty("state").GetString());
        var beyond = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern, count = 21 });
        await ApiCalls.AssertProblemAsync(beyond, HttpStatusCode.BadRequest, "pattern-capacity-exceeded");
        Assert.Equal("succeeded", (await BookCalls.GenerateAsync(admin, bookId, pattern, 20)).GetProperty("state").GetString());
        Assert.Equal(50, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task Codes_stored_by_an_upload_count_against_the_capacity_and_are_never_generated_again()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = UniquePrefix();
        // 40 of the 100 codes of PREFIX## exist already.
        string csv = string.Join("\n", Enumerable.Range(0, 40).Select(i => $"{prefix}{i:00}"));
        Assert.Equal(HttpStatusCode.OK, (await BookCalls.UploadCsvAsync(admin, bookId, csv)).StatusCode);

        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern = $"{prefix}##", count = 11 }),
            HttpStatusCode.BadRequest, "pattern-capacity-exceeded");
        Assert.Equal("succeeded", (await BookCalls.GenerateAsync(admin, bookId, $"{prefix}##", 10)).GetProperty("state").GetString());

        Assert.Equal(50, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
        Assert.Equal(50, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(distinct code) from coupons where book_id = $1", bookId));
    }

    [Theory]
    [InlineData("ABCDEFG", "no placeholder")]
    [InlineData("A#", "2 characters")]
    [InlineData("SALE!###", "not allowed")]
    [InlineData("ÄÖ###", "not allowed")]
    public async Task A_bad_pattern_is_validation_failed_naming_the_pattern(string pattern, string why)
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);

        var response = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern, count = 1 });

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Contains(why, problem.GetProperty("errors").GetProperty("pattern")[0].GetString());
    }

    [Fact]
    public async Task A_pattern_longer_than_64_characters_is_validation_failed()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var response = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern = new string('A', 60) + "#####", count = 1 });
        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_000_001)]
    public async Task A_count_out_of_range_is_validation_failed(int count)
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var problem = await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern = "ZZ######", count }),
            HttpStatusCode.BadRequest, "validation-failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("count", out _));
    }

    [Fact]
    public async Task A_pattern_with_a_space_beyond_64_bits_draws_random_codes()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var job = await BookCalls.GenerateAsync(admin, bookId, "BIG-****************", 300);

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        var codes = await TestDb.StringsAsync(api.ConnectionString, "select code from coupons where book_id = $1", bookId);
        Assert.Equal(300, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^BIG-[0-9A-Z]{16}$", c));
    }

    /// <summary>A literal prefix no other test uses, so capacity counts are this test's own.</summary>
    private static string UniquePrefix() => "T" + Regex.Replace(Guid.NewGuid().ToString("N")[..8].ToUpperInvariant(), "[^A-Z0-9]", "X");
}
