using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Http;

/// <summary>API.md: timestamps are ISO-8601 UTC. Every timestamp the API writes ends in <c>Z</c>, replays of keyed commands included.</summary>
[Collection(ApiCollection.Name)]
public sealed partial class TimestampTests(ApiFixture api)
{
    [Fact]
    public async Task Every_timestamp_of_users_books_coupons_pools_jobs_and_audit_entries_ends_in_z()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user) = await api.NewUserAsync();
        var checkedCount = 0;
        async Task<JsonElement> Check(HttpResponseMessage response, params string[] members)
        {
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage!.RequestUri}: {(int)response.StatusCode} {text}");
            var body = JsonDocument.Parse(text).RootElement;
            checkedCount += AssertEveryTimestampIsUtc(body, text);
            foreach (string member in members)
            {
                Assert.EndsWith("Z", body.GetProperty(member).GetString());
            }

            return body;
        }

        await Check(await client.GetAsync("/api/v1/users/me"), "createdAt");
        await Check(await admin.GetAsync($"/api/v1/users/{user.Id}"), "createdAt");
        await Check(await admin.GetAsync("/api/v1/users?limit=5"));

        var book = await Check(await admin.PostAsJsonAsync("/api/v1/books", new
        {
            name = $"Timestamps {Guid.NewGuid():N}", validFrom = "2020-01-01T02:00:00.5+02:00", validUntil = "2100-01-01T00:00:00+00:00",
        }), "createdAt", "validFrom", "validUntil");
        Assert.Equal("2020-01-01T00:00:00.5Z", book.GetProperty("validFrom").GetString());
        Assert.Equal("2100-01-01T00:00:00Z", book.GetProperty("validUntil").GetString());
        var bookId = book.GetProperty("id").GetGuid();
        await Check(await admin.GetAsync($"/api/v1/books/{bookId}"), "createdAt", "validFrom", "validUntil");
        var patched = await Check(await admin.PatchAsync($"/api/v1/books/{bookId}", CouponCalls.Json("""{"validUntil":"2100-01-01T02:00:00+02:00"}""")), "validUntil");
        Assert.Equal("2100-01-01T00:00:00Z", patched.GetProperty("validUntil").GetString());
        await Check(await admin.GetAsync("/api/v1/books?limit=5"));

        var generated = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern = $"T{Guid.NewGuid():N}"[..12].ToUpperInvariant() + "-####", count = 3 });
        Assert.Equal("succeeded", (await BookCalls.WaitForJobAsync(admin, generated)).GetProperty("state").GetString());
        await Check(await admin.GetAsync(generated.Headers.Location), "createdAt", "finishedAt");

        string code = (await Check(await CouponCalls.AssignAsync(client, bookId), "assignedAt")).GetProperty("code").GetString()!;
        await Check(await CouponCalls.ActAsync(client, code, "lock"), "assignedAt", "lockedUntil");
        await Check(await CouponCalls.ActAsync(client, code, "redeem"), "assignedAt", "redeemedAt");
        await Check(await client.GetAsync($"/api/v1/coupons/{code}"), "assignedAt", "redeemedAt");
        var history = await Check(await client.GetAsync($"/api/v1/coupons/{code}/history"));
        Assert.All(history.EnumerateArray(), h => Assert.EndsWith("Z", h.GetProperty("at").GetString()));
        await Check(await client.GetAsync("/api/v1/users/me/coupons"));
        await Check(await admin.GetAsync($"/api/v1/books/{bookId}/coupons"));

        await Check(await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Timestamps {Guid.NewGuid():N}" }), "createdAt");
        await Check(await admin.GetAsync("/api/v1/pools?limit=5"));

        var audit = await Check(await admin.GetAsync($"/api/v1/audit?action=book.created&limit=1000"));
        var created = audit.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("targetId").GetGuid() == bookId);
        Assert.Equal("2020-01-01T00:00:00.5Z", created.GetProperty("details").GetProperty("validFrom").GetString());
        var updates = await Check(await admin.GetAsync($"/api/v1/audit?action=book.updated&limit=1000"));
        var updated = updates.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("targetId").GetGuid() == bookId);
        Assert.Equal("2100-01-01T00:00:00Z", updated.GetProperty("details").GetProperty("validUntil").GetString());

        // users 3, books 8 (+ listed), job 2, coupons 8 (+ history, listed), pool 1, audit: far more than these.
        Assert.True(checkedCount >= 25, $"only {checkedCount} timestamps were seen");
    }

    [Fact]
    public async Task A_keyed_replay_read_back_from_the_database_is_byte_for_byte_the_first_response()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 2);
        var (client, _) = await api.NewUserAsync();
        string assignKey = $"assign-{Guid.NewGuid():N}", lockKey = $"lock-{Guid.NewGuid():N}";

        var assigned = await CouponCalls.AssignAsync(client, bookId, null, assignKey);
        string assignedText = await assigned.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, assigned.StatusCode);
        string code = JsonDocument.Parse(assignedText).RootElement.GetProperty("code").GetString()!;
        var locked = await CouponCalls.ActAsync(client, code, "lock", lockKey);
        string lockedText = await locked.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        var lockedBody = JsonDocument.Parse(lockedText).RootElement;
        Assert.EndsWith("Z", lockedBody.GetProperty("assignedAt").GetString());
        Assert.EndsWith("Z", lockedBody.GetProperty("lockedUntil").GetString());

        // The replays after the keys' grains were collected: their answers come from the outcomes stored in the database.
        await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IGrainFactory>(api.Silo.Services)
            .GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var assignedAgain = await CouponCalls.AssignAsync(client, bookId, null, assignKey);
        var lockedAgain = await CouponCalls.ActAsync(client, code, "lock", lockKey);

        Assert.Equal(HttpStatusCode.Created, assignedAgain.StatusCode);
        Assert.Equal(assignedText, await assignedAgain.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, lockedAgain.StatusCode);
        Assert.Equal(lockedText, await lockedAgain.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_openapi_document_still_describes_timestamps_as_date_time()
    {
        using var client = api.CreateClient();
        var schemas = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement.GetProperty("components").GetProperty("schemas");
        foreach (var (schema, member) in new[] { ("CouponResponse", "assignedAt"), ("CouponResponse", "lockedUntil"), ("BookResponse", "createdAt"), ("BookResponse", "validFrom"), ("UserResponse", "createdAt") })
        {
            var property = schemas.GetProperty(schema).GetProperty("properties").GetProperty(member);
            Assert.Equal("date-time", property.GetProperty("format").GetString());
        }
    }

    /// <summary>Asserts that every string that reads as a timestamp ends in Z; answers how many there were.</summary>
    private static int AssertEveryTimestampIsUtc(JsonElement element, string text)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                return element.EnumerateObject().Sum(p => AssertEveryTimestampIsUtc(p.Value, text));
            case JsonValueKind.Array:
                return element.EnumerateArray().Sum(e => AssertEveryTimestampIsUtc(e, text));
            case JsonValueKind.String when Timestamp().IsMatch(element.GetString()!):
                Assert.True(element.GetString()!.EndsWith('Z'), $"{element.GetString()} is not written in UTC with Z: {text}");
                return 1;
            default:
                return 0;
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")]
    private static partial Regex Timestamp();
}
