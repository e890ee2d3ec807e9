using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Books;

[Collection(ApiCollection.Name)]
public sealed class CouponListingTests(ApiFixture api)
{
    [Fact]
    public async Task Paging_through_a_books_coupons_neither_skips_nor_repeats()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        await BookCalls.GenerateAsync(admin, bookId, $"P{Guid.NewGuid():N}"[..6].ToUpperInvariant() + "-####", 237);

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/books/{bookId}/coupons?limit=50" + (cursor is null ? "" : $"&cursor={cursor}"))).RootElement;
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.All(items, c =>
            {
                Assert.Equal(bookId, c.GetProperty("bookId").GetGuid());
                Assert.Equal("UNASSIGNED", c.GetProperty("state").GetString());
                Assert.Equal(JsonValueKind.Null, c.GetProperty("userId").ValueKind);
                Assert.Equal(JsonValueKind.Null, c.GetProperty("lockedUntil").ValueKind);
                Assert.Equal(0, c.GetProperty("redemptionCount").GetInt32());
            });
            seen.AddRange(items.Select(c => c.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(237, seen.Count);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(237, seen.Distinct().Count());
    }

    [Fact]
    public async Task Filters_by_state_and_user_read_an_expired_lock_as_assigned()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = $"S{Guid.NewGuid():N}"[..8].ToUpperInvariant();
        await BookCalls.UploadCsvAsync(admin, bookId, $"{prefix}1\n{prefix}2\n{prefix}3\n{prefix}4\n");
        var owner = Guid.NewGuid();
        // States written as the lifecycle will: ASSIGNED, LOCKED (live), LOCKED (run out), REDEEMED.
        await TestDb.ExecuteAsync(api.ConnectionString,
            """
            update coupons set user_id = $2, assigned_at = now(),
                state = case code when $3 then 1 when $4 then 2 when $5 then 2 else 3 end,
                locked_until = case code when $4 then now() + interval '5 minutes' when $5 then now() - interval '1 second' end
            where book_id = $1 and code <> $6
            """,
            bookId, owner, $"{prefix}1", $"{prefix}2", $"{prefix}3", $"{prefix}4x");
        await TestDb.ExecuteAsync(api.ConnectionString,
            "update book_stats set unassigned = 0, assigned = 1, locked = 2, redeemed = 1 where book_id = $1", bookId);

        async Task<List<string>> Codes(string query) =>
            JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/books/{bookId}/coupons?{query}")).RootElement
                .GetProperty("items").EnumerateArray().Select(c => c.GetProperty("code").GetString()!).ToList();

        Assert.Equal(new[] { $"{prefix}1", $"{prefix}3" }, await Codes("state=ASSIGNED"));
        Assert.Equal(new[] { $"{prefix}2" }, await Codes("state=locked"));
        Assert.Equal(new[] { $"{prefix}4" }, await Codes("state=REDEEMED"));
        Assert.Empty(await Codes("state=UNASSIGNED"));
        Assert.Equal(4, (await Codes($"userId={owner}")).Count);
        Assert.Empty(await Codes($"userId={Guid.NewGuid()}"));

        var expired = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/books/{bookId}/coupons?state=ASSIGNED")).RootElement.GetProperty("items")[1];
        Assert.Equal(JsonValueKind.Null, expired.GetProperty("lockedUntil").ValueKind);
        var stats = (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats");
        Assert.Equal((4, 0, 2, 1, 1), (stats.GetProperty("total").GetInt64(), stats.GetProperty("unassigned").GetInt64(),
            stats.GetProperty("assigned").GetInt64(), stats.GetProperty("locked").GetInt64(), stats.GetProperty("redeemed").GetInt64()));
    }

    [Theory]
    [InlineData("state=USED")]
    [InlineData("userId=nope")]
    [InlineData("limit=0")]
    [InlineData("cursor=!!!")]
    public async Task Bad_filters_are_validation_failed(string query)
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/books/{bookId}/coupons?{query}"), HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task Export_streams_every_coupon_as_csv_with_the_contract_header()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = $"E{Guid.NewGuid():N}"[..8].ToUpperInvariant();
        await BookCalls.UploadCsvAsync(admin, bookId, $"{prefix}B\n{prefix}A\n{prefix}C\n");
        var owner = Guid.NewGuid();
        await TestDb.ExecuteAsync(api.ConnectionString,
            "update coupons set state = 1, user_id = $2, assigned_at = '2030-05-06T07:08:09.5Z', redemption_count = 0 where code = $1", $"{prefix}B", owner);

        var response = await admin.GetAsync($"/api/v1/books/{bookId}/coupons/export");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal(new[]
        {
            "code,state,userId,assignedAt,redemptionCount",
            $"{prefix}A,UNASSIGNED,,,0",
            $"{prefix}B,ASSIGNED,{owner},2030-05-06T07:08:09.500000Z,0",
            $"{prefix}C,UNASSIGNED,,,0",
        }, lines);
    }
}
