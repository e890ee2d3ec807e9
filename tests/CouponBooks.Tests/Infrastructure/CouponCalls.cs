using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>Coupon calls the lifecycle tests make.</summary>
public static class CouponCalls
{
    /// <summary>A book with <paramref name="codes"/> uploaded codes; answers its id and codes.</summary>
    public static async Task<(Guid BookId, List<string> Codes)> BookWithCodesAsync(HttpClient admin, int codes, object? settings = null)
    {
        var bookId = await BookCalls.CreateBookAsync(admin, settings);
        string prefix = $"L{Guid.NewGuid():N}"[..10].ToUpperInvariant();
        var list = Enumerable.Range(0, codes).Select(i => $"{prefix}-{i:00000}").ToList();
        var response = await BookCalls.UploadCsvAsync(admin, bookId, string.Join("\n", list));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (bookId, list);
    }

    /// <summary>A new user holding the first coupon of a new book of <paramref name="codes"/> codes (ASSIGNED to it).</summary>
    public static async Task<(HttpClient Client, TestUser User, Guid BookId, string Code)> OwnedCouponAsync(ApiFixture api, int codes = 1, object? settings = null)
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await BookWithCodesAsync(admin, codes, settings);
        var (client, user) = await api.NewUserAsync();
        string code = (await AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
        return (client, user, bookId, code);
    }

    public static Task<HttpResponseMessage> AssignAsync(HttpClient client, Guid bookId, Guid? userId = null, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/books/{bookId}/assignments")
        {
            Content = userId is null ? null : JsonContent.Create(new { userId }),
        };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return client.SendAsync(request);
    }

    public static async Task<JsonElement> AssignOkAsync(HttpClient client, Guid bookId, Guid? userId = null)
    {
        var response = await AssignAsync(client, bookId, userId);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement;
    }

    public static Task<HttpResponseMessage> ActAsync(HttpClient client, string code, string verb, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/coupons/{code}/{verb}");
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return client.SendAsync(request);
    }

    public static async Task<JsonElement> ActOkAsync(HttpClient client, string code, string verb)
    {
        var response = await ActAsync(client, code, verb);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{verb} {code}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    public static async Task<List<JsonElement>> HistoryAsync(HttpClient client, string code) =>
        JsonDocument.Parse(await client.GetStringAsync($"/api/v1/coupons/{code}/history")).RootElement.EnumerateArray().ToList();

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
