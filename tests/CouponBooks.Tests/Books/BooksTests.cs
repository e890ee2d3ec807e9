using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Books;

[Collection(ApiCollection.Name)]
public sealed class BooksTests(ApiFixture api)
{
    [Fact]
    public async Task Create_answers_every_member_with_defaults_and_empty_stats()
    {
        using var admin = await api.AdminClientAsync();
        var response = await admin.PostAsJsonAsync("/api/v1/books", new { name = "  Summer sale  " });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var book = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"/api/v1/books/{book.GetProperty("id").GetGuid()}", response.Headers.Location?.OriginalString);
        Assert.Equal("Summer sale", book.GetProperty("name").GetString());
        foreach (string member in new[] { "description", "maxAssignmentsPerUser", "maxTotalAssignments", "validFrom", "validUntil" })
        {
            Assert.Equal(JsonValueKind.Null, book.GetProperty(member).ValueKind);
        }

        Assert.Equal(1, book.GetProperty("maxRedemptionsPerCoupon").GetInt32());
        Assert.Equal(300, book.GetProperty("lockTtlSeconds").GetInt32());
        var stats = book.GetProperty("stats");
        foreach (string count in new[] { "total", "unassigned", "assigned", "locked", "redeemed" })
        {
            Assert.Equal(0, stats.GetProperty(count).GetInt64());
        }
    }

    [Fact]
    public async Task A_user_may_read_books_but_not_create_or_change_them()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var (user, _) = await api.NewUserAsync();

        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync($"/api/v1/books/{bookId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/v1/books")).StatusCode);
        await ApiCalls.AssertProblemAsync(await user.PostAsJsonAsync("/api/v1/books", new { name = "x" }), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(await Patch(user, bookId, """{"name":"x"}"""), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(
            await user.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern = "A####", count = 1 }), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(await user.GetAsync($"/api/v1/books/{bookId}/coupons"), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(await user.GetAsync($"/api/v1/books/{bookId}/coupons/export"), HttpStatusCode.Forbidden, "forbidden");
    }

    [Theory]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""{}""", "name")]
    [InlineData("""{"name":"x","maxAssignmentsPerUser":0}""", "maxAssignmentsPerUser")]
    [InlineData("""{"name":"x","maxTotalAssignments":-1}""", "maxTotalAssignments")]
    [InlineData("""{"name":"x","maxRedemptionsPerCoupon":1001}""", "maxRedemptionsPerCoupon")]
    [InlineData("""{"name":"x","maxRedemptionsPerCoupon":0}""", "maxRedemptionsPerCoupon")]
    [InlineData("""{"name":"x","lockTtlSeconds":4}""", "lockTtlSeconds")]
    [InlineData("""{"name":"x","lockTtlSeconds":86401}""", "lockTtlSeconds")]
    [InlineData("""{"name":"x","validFrom":"2030-01-02T00:00:00Z","validUntil":"2030-01-01T00:00:00Z"}""", "validFrom")]
    public async Task Create_with_a_value_out_of_range_is_validation_failed_and_stores_nothing(string json, string field)
    {
        using var admin = await api.AdminClientAsync();
        long before = await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from books");

        var response = await admin.PostAsync("/api/v1/books", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Equal(before, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from books"));
    }

    [Fact]
    public async Task A_window_wholly_in_the_past_is_allowed()
    {
        using var admin = await api.AdminClientAsync();
        var response = await admin.PostAsJsonAsync("/api/v1/books", new { name = "Old", validFrom = "2020-01-01T00:00:00Z", validUntil = "2020-02-01T00:00:00+02:00" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var book = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(new DateTimeOffset(2020, 1, 31, 22, 0, 0, TimeSpan.Zero), book.GetProperty("validUntil").GetDateTimeOffset());
    }

    [Fact]
    public async Task Patch_follows_merge_patch_and_null_clears_a_limit()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin, new { name = "Before", description = "d", maxAssignmentsPerUser = 2, maxTotalAssignments = 10, lockTtlSeconds = 60 });

        var response = await Patch(admin, bookId, """{"name":"After","maxAssignmentsPerUser":null,"maxTotalAssignments":5,"validUntil":"2031-01-01T00:00:00Z"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var book = await BookCalls.GetBookAsync(admin, bookId);
        Assert.Equal("After", book.GetProperty("name").GetString());
        Assert.Equal("d", book.GetProperty("description").GetString());
        Assert.Equal(JsonValueKind.Null, book.GetProperty("maxAssignmentsPerUser").ValueKind);
        Assert.Equal(5, book.GetProperty("maxTotalAssignments").GetInt32());
        Assert.Equal(60, book.GetProperty("lockTtlSeconds").GetInt32());
        Assert.Equal(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero), book.GetProperty("validUntil").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Object, book.GetProperty("stats").ValueKind);
    }

    [Theory]
    [InlineData("""{"name":null}""", "name")]
    [InlineData("""{"lockTtlSeconds":"sixty"}""", "lockTtlSeconds")]
    [InlineData("""{"maxTotalAssignments":1.5}""", "maxTotalAssignments")]
    [InlineData("""{"validFrom":"not a date"}""", "validFrom")]
    [InlineData("""{"validFrom":"2040-01-01T00:00:00Z"}""", "validFrom")]
    public async Task Patch_with_a_bad_member_is_validation_failed_and_changes_nothing(string json, string field)
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin, new { name = "Stays", validUntil = "2035-01-01T00:00:00Z" });

        var problem = await ApiCalls.AssertProblemAsync(await Patch(admin, bookId, json), HttpStatusCode.BadRequest, "validation-failed");

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        var book = await BookCalls.GetBookAsync(admin, bookId);
        Assert.Equal("Stays", book.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, book.GetProperty("validFrom").ValueKind);
    }

    [Fact]
    public async Task Unknown_books_are_not_found()
    {
        using var admin = await api.AdminClientAsync();
        var unknown = Guid.NewGuid();
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/books/{unknown}"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await Patch(admin, unknown, """{"name":"x"}"""), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{unknown}/codes/generate", new { pattern = "Q####", count = 1 }), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await BookCalls.UploadCsvAsync(admin, unknown, "ABC\n"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/books/{unknown}/coupons"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/books/{unknown}/coupons/export"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/jobs/{unknown}"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Paging_through_books_neither_skips_nor_repeats()
    {
        using var admin = await api.AdminClientAsync();
        var created = new List<Guid>();
        for (int i = 0; i < 5; i++)
        {
            created.Add(await BookCalls.CreateBookAsync(admin));
        }

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/books?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"))).RootElement;
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.All(items, b => Assert.Equal(JsonValueKind.Object, b.GetProperty("stats").ValueKind));
            seen.AddRange(items.Select(b => b.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.All(created, id => Assert.Contains(id, seen));
    }

    [Fact]
    public async Task A_patch_whose_answer_was_lost_after_it_committed_is_what_the_book_decides_by_next()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5, new { name = "Lost answer", maxAssignmentsPerUser = 5 });
        var (client, _) = await api.NewUserAsync();
        var failed = await TestDb.WhileTriggerAsync(api.ConnectionString, "books", $"old.id = '{bookId}'",
            "raise exception 'lost' using errcode = '53400';", () => Patch(admin, bookId, """{"maxAssignmentsPerUser":1}"""));

        // ...as if the patch had committed and only its answer was lost.
        await TestDb.ExecuteAsync(api.ConnectionString, "update books set max_assignments_per_user = 1, version = version + 1 where id = $1", bookId);
        var first = await CouponCalls.AssignAsync(client, bookId);
        var second = await CouponCalls.AssignAsync(client, bookId);

        await ApiCalls.AssertProblemAsync(failed, HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        await ApiCalls.AssertProblemAsync(second, HttpStatusCode.Conflict, "per-user-limit-reached");
    }

    private static Task<HttpResponseMessage> Patch(HttpClient client, Guid bookId, string json) =>
        client.PatchAsync($"/api/v1/books/{bookId}", new StringContent(json, Encoding.UTF8, "application/json"));
}
