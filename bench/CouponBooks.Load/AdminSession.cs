using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace CouponBooks.Load;

/// <summary>The API's admin: logs in with the bootstrap credentials and creates the books the scenarios use.</summary>
public sealed class AdminSession(Uri api) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };

    public async Task LogInAsync(string email, string password)
    {
        // The silo creates the bootstrap admin just after it starts: right after start-up a 401 may only mean "not yet".
        for (int attempt = 1; ; attempt++)
        {
            using var response = await _http.PostAsJsonAsync("/api/v1/auth/login", new { email, password });
            string text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                string token = JsonDocument.Parse(text).RootElement.GetProperty("accessToken").GetString()!;
                _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                return;
            }

            if (attempt >= 60 || response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.ServiceUnavailable))
            {
                throw new LoadFailure($"admin login: {(int)response.StatusCode} {text}");
            }

            await Task.Delay(500);
        }
    }

    /// <summary>Creates a book through POST /api/v1/books (no validity window, no assignment limits).</summary>
    public async Task<Guid> CreateBookAsync(string name, int maxRedemptionsPerCoupon, int lockTtlSeconds)
    {
        using var response = await _http.PostAsJsonAsync("/api/v1/books", new { name, maxRedemptionsPerCoupon, lockTtlSeconds });
        string text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new LoadFailure($"create book {name}: {(int)response.StatusCode} {text}");
        }

        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
    }

    public void Dispose() => _http.Dispose();
}
