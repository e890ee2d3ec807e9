using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>Book and job calls many tests make, with the assertions that they succeeded.</summary>
public static class BookCalls
{
    public static async Task<Guid> CreateBookAsync(HttpClient admin, object? body = null)
    {
        var response = await admin.PostAsJsonAsync("/api/v1/books", body ?? new { name = $"Book {Guid.NewGuid():N}" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>Starts a generation and waits for its job; answers the finished job.</summary>
    public static async Task<JsonElement> GenerateAsync(HttpClient admin, Guid bookId, string pattern, int count)
    {
        var response = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern, count });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await WaitForJobAsync(admin, response);
    }

    public static async Task<JsonElement> WaitForJobAsync(HttpClient admin, HttpResponseMessage accepted)
    {
        var location = accepted.Headers.Location!;
        var jobId = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetGuid();
        Assert.Equal($"/api/v1/jobs/{jobId}", location.OriginalString);
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var job = JsonDocument.Parse(await admin.GetStringAsync(location)).RootElement;
            string state = job.GetProperty("state").GetString()!;
            if (state is "succeeded" or "failed")
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {jobId} still {state}");
            await Task.Delay(100);
        }
    }

    public static Task<HttpResponseMessage> UploadCsvAsync(HttpClient admin, Guid bookId, string csv, bool skipInvalid = false) =>
        admin.PostAsync($"/api/v1/books/{bookId}/codes/upload{(skipInvalid ? "?skipInvalid=true" : "")}", new StringContent(csv, Encoding.UTF8, "text/csv"));

    public static async Task<JsonElement> GetBookAsync(HttpClient client, Guid bookId) =>
        JsonDocument.Parse(await client.GetStringAsync($"/api/v1/books/{bookId}")).RootElement;

    public static async Task<long> CountCodesAsync(string connectionString, Guid bookId) =>
        await TestDb.ScalarAsync<long>(connectionString, "select count(*) from coupons where book_id = $1", bookId);
}
