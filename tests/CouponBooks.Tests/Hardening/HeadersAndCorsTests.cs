using System.Net;
using System.Text.RegularExpressions;
using CouponBooks.Api.Http;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Hardening;

/// <summary>Security headers on every kind of answer, HSTS on HTTPS, and CORS for the configured origin only.</summary>
[Collection(HardeningCollection.Name)]
public sealed partial class HeadersAndCorsTests(HardeningFixture api)
{
    [Theory]
    [InlineData("GET", "/health/live", HttpStatusCode.OK)]
    [InlineData("GET", "/api/v1/nothing-here", HttpStatusCode.NotFound)]
    [InlineData("GET", "/api/v1/books", HttpStatusCode.Unauthorized)]
    [InlineData("DELETE", "/api/v1/auth/login", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "/api/v1/auth/login", HttpStatusCode.BadRequest)]
    public async Task Every_answer_carries_the_security_headers(string method, string path, HttpStatusCode status)
    {
        using var client = api.Client();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = CouponCalls.Json("{\"email\": ");
        }

        var response = await client.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        AssertSecurityHeaders(response, SecurityHeaders.ApiContentSecurityPolicy);
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task Swagger_ui_gets_a_policy_it_can_live_with_and_runs_no_inline_script()
    {
        using var client = api.Client();
        var response = await client.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertSecurityHeaders(response, SecurityHeaders.PageContentSecurityPolicy);
        string html = await response.Content.ReadAsStringAsync();
        var scripts = ScriptTag().Matches(html);
        Assert.NotEmpty(scripts);
        // script-src 'self' allows only scripts loaded from this origin.
        Assert.All(scripts, s => Assert.Matches("src=\"(?!https?:|//)[^\"]+\"", s.Value));
        Assert.All(scripts, s => Assert.EndsWith("></script>", s.Value));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.js")).StatusCode);
    }

    [Fact]
    public async Task Https_answers_outside_development_carry_hsts()
    {
        using var client = api.Client();
        var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Add("X-Forwarded-Proto", "https");

        var response = await client.SendAsync(request);

        Assert.Equal(SecurityHeaders.HstsValue, Assert.Single(response.Headers.GetValues("Strict-Transport-Security")));
        AssertSecurityHeaders(response, SecurityHeaders.ApiContentSecurityPolicy);
    }

    [Fact]
    public async Task A_preflight_from_the_configured_origin_is_allowed()
    {
        using var client = api.Client();
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/books/00000000-0000-0000-0000-000000000001/assignments");
        request.Headers.Add("Origin", HardeningFixture.AllowedOrigin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,idempotency-key");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HardeningFixture.AllowedOrigin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("POST", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Methods")));
        string allowedHeaders = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("authorization", allowedHeaders);
        Assert.Contains("idempotency-key", allowedHeaders);
        Assert.Equal("600", Assert.Single(response.Headers.GetValues("Access-Control-Max-Age")));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task A_preflight_from_another_origin_gets_no_permission()
    {
        using var client = api.Client();
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/books");
        request.Headers.Add("Origin", "https://evil.example.net");
        request.Headers.Add("Access-Control-Request-Method", "POST");

        var response = await client.SendAsync(request);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Methods"));
    }

    [Fact]
    public async Task A_cross_origin_answer_names_the_origin_and_exposes_retry_after_and_location()
    {
        using var client = api.Client();
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/books");
        request.Headers.Add("Origin", HardeningFixture.AllowedOrigin);

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HardeningFixture.AllowedOrigin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        string exposed = string.Join(",", response.Headers.GetValues("Access-Control-Expose-Headers"));
        Assert.Contains("Retry-After", exposed);
        Assert.Contains("Location", exposed);
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response, string policy)
    {
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal(policy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains("frame-ancestors 'none'", policy);
    }

    [GeneratedRegex("<script[^>]*>.*?</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptTag();
}
