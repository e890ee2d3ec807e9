using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Coupons;

/// <summary>
/// Codes are imported and generated, and pools distributed, straight into the table in bulk, past the coupons' grains:
/// a coupon whose grain is active with the row as it was (missing, or UNASSIGNED) answers what the table says now.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class BulkChangesTests(ApiFixture api)
{
    [Fact]
    public async Task A_coupon_read_before_a_distribution_gave_it_away_is_its_new_owners_at_once()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, codes) = await CouponCalls.BookWithCodesAsync(admin, 1);
        string code = codes[0];
        var before = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal("UNASSIGNED", before.GetProperty("state").GetString());

        var (member, user) = await api.NewUserAsync();
        var pool = await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Pool {Guid.NewGuid():N}" });
        var poolId = JsonDocument.Parse(await pool.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members", new { userIds = new[] { user.Id } })).StatusCode);
        var job = await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal" }));
        Assert.Equal(1, job.GetProperty("result").GetProperty("assigned").GetInt32());

        var seen = JsonDocument.Parse(await member.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal(("ASSIGNED", user.Id), (seen.GetProperty("state").GetString(), seen.GetProperty("userId").GetGuid()));
        Assert.Equal("LOCKED", (await CouponCalls.ActOkAsync(member, code, "lock")).GetProperty("state").GetString());
        var after = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal(("LOCKED", user.Id), (after.GetProperty("state").GetString(), after.GetProperty("userId").GetGuid()));
        Assert.Equal(["assign", "lock"], (await CouponCalls.HistoryAsync(member, code)).Select(h => h.GetProperty("action").GetString()));
    }

    [Fact]
    public async Task A_code_looked_up_before_it_was_uploaded_is_found_and_assigned_once_it_is()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string code = $"LATE-{Guid.NewGuid():N}"[..20].ToUpperInvariant();
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/coupons/{code}"), HttpStatusCode.NotFound, "not-found");
        var (_, user) = await api.NewUserAsync();
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{code}", new { userId = user.Id }), HttpStatusCode.NotFound, "not-found");

        Assert.Equal(HttpStatusCode.OK, (await BookCalls.UploadCsvAsync(admin, bookId, code)).StatusCode);

        var found = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/coupons/{code}")).RootElement;
        Assert.Equal(("UNASSIGNED", bookId), (found.GetProperty("state").GetString(), found.GetProperty("bookId").GetGuid()));
        var assigned = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/assignments/{code}", new { userId = user.Id });
        Assert.Equal(HttpStatusCode.Created, assigned.StatusCode);
        Assert.Equal(user.Id, JsonDocument.Parse(await assigned.Content.ReadAsStringAsync()).RootElement.GetProperty("userId").GetGuid());
    }

    [Fact]
    public async Task Generated_codes_first_asked_for_while_missing_are_then_given_by_random_assignment()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = $"G{Guid.NewGuid():N}"[..12].ToUpperInvariant();
        // Every code the pattern can form is asked for (and missed) before the generation stores half of them.
        var space = Enumerable.Range(0, 10).Select(d => $"{prefix}-{d}").ToList();
        foreach (string code in space)
        {
            await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/coupons/{code}"), HttpStatusCode.NotFound, "not-found");
        }

        var job = await BookCalls.GenerateAsync(admin, bookId, $"{prefix}-#", 5);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());

        var (client, user) = await api.NewUserAsync();
        var given = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            var assigned = await CouponCalls.AssignOkAsync(client, bookId);
            Assert.Equal(user.Id, assigned.GetProperty("userId").GetGuid());
            given.Add(assigned.GetProperty("code").GetString()!);
        }

        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(client, bookId), HttpStatusCode.Conflict, "book-exhausted");
        Assert.Equal(5, given.Distinct().Count());
        Assert.All(given, code => Assert.Contains(code, space));
        foreach (string code in given)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/coupons/{code}")).StatusCode);
        }
    }
}
