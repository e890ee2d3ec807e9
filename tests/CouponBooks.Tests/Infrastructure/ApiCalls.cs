using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CouponBooks.Tests.Infrastructure;

public sealed record TestUser(Guid Id, string Email, string Password);

public sealed record Tokens(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);

public sealed record UserBody(Guid Id, string Email, string? DisplayName, string Role, bool Disabled, DateTimeOffset CreatedAt);

/// <summary>The calls most tests make, with the assertions that they succeeded.</summary>
public static class ApiCalls
{
    /// <summary>
    /// A client of <paramref name="api"/> carrying the access token of <paramref name="email"/>, logging in again until it
    /// works (an Api just started, or whose silos are coming back, answers 503 meanwhile) or <paramref name="within"/> ends.
    /// </summary>
    public static async Task<HttpClient> SignedInAsync(WebApplicationFactory<Program> api, string email, string password, TimeSpan? within = null)
    {
        var client = api.CreateClient();
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email, password });
            if (response.IsSuccessStatusCode)
            {
                var tokens = (await response.Content.ReadFromJsonAsync<Tokens>())!;
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
                return client;
            }

            Assert.True(DateTime.UtcNow < deadline, $"login of {email} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(200);
        }
    }

    public static string NewEmail(string prefix = "user") => $"{prefix}-{Guid.NewGuid():N}@example.com";

    public static async Task<TestUser> RegisterAsync(HttpClient client, string? email = null, string password = "correct-horse-battery", string? displayName = null)
    {
        email ??= NewEmail();
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email, password, displayName });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<UserBody>();
        return new TestUser(body!.Id, email, password);
    }

    public static async Task<Tokens> LoginAsync(HttpClient client, string email, string password)
    {
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Tokens>())!;
    }

    /// <summary>Asserts a problem+json answer with the given status and code, and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("title").GetString()));
        Assert.True(body.TryGetProperty("type", out var type) && Uri.IsWellFormedUriString(type.GetString(), UriKind.Absolute), $"The problem has no type: {text}");
        Assert.True(body.TryGetProperty("detail", out var detail) && !string.IsNullOrWhiteSpace(detail.GetString()), $"The problem has no detail: {text}");
        Assert.True(body.TryGetProperty("traceId", out var trace) && !string.IsNullOrWhiteSpace(trace.GetString()), $"The problem has no traceId: {text}");
        return body;
    }
}
