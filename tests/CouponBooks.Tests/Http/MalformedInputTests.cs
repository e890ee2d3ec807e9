using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Http;

/// <summary>Every endpoint that exists, hit with malformed input, as a caller with no token and as an admin: never a 5xx, always problem+json.</summary>
[Collection(ApiCollection.Name)]
public sealed class MalformedInputTests(ApiFixture api, ITestOutputHelper output)
{
    private static readonly (string Name, Func<HttpContent?> Body)[] Bodies =
    [
        ("no body", () => null),
        ("empty json", () => Json("")),
        ("truncated json", () => Json("{\"email\": \"a@b.c\"")),
        ("array", () => Json("[1,2,3]")),
        ("string", () => Json("\"text\"")),
        ("null", () => Json("null")),
        ("wrong types", () => Json("""{"email":5,"password":[],"displayName":{},"role":7,"disabled":"x","refreshToken":1,"name":false,"userIds":"x","emails":3}""")),
        ("nulls", () => Json("""{"email":null,"password":null,"displayName":null,"role":null,"disabled":null,"refreshToken":null}""")),
        ("deep nesting", () => Json(new string('[', 5000) + new string(']', 5000))),
        ("huge string", () => Json($$"""{"email":"{{new string('a', 1_000_000)}}@x.io","password":"{{new string('p', 1_000_000)}}","displayName":"{{new string('d', 100_000)}}"}""")),
        ("invalid utf-8", () => new ByteArrayContent([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0xFF, 0x7D]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }),
        ("text/plain", () => new StringContent("email=a@b.c", Encoding.UTF8, "text/plain")),
        ("form", () => new FormUrlEncodedContent([KeyValuePair.Create("email", "a@b.c")])),
        ("control chars", () => Json("{\"email\":\"a\\u0000@b.c\",\"password\":\"\\u0000\\u0001aaaaaaaaaaa\",\"displayName\":\"\\u0007\"}")),
    ];

    private static readonly string[] Queries = ["", "?limit=-1", "?limit=99999999999", "?cursor=%00%FF", "?email=", "?email=%00", "?limit=1&cursor=" + new string('A', 5000)];

    [Fact]
    public async Task No_endpoint_answers_a_server_error_to_malformed_input()
    {
        var endpoints = DiscoverEndpoints();
        Assert.Contains(endpoints, e => e.Path == "/api/v1/auth/register");
        Assert.Contains(endpoints, e => e.Path.StartsWith("/api/v1/users/", StringComparison.Ordinal) && e.Method == "PATCH");

        using var anonymous = api.CreateClient();
        using var admin = await api.AdminClientAsync();
        int requests = 0;
        var failures = new List<string>();
        foreach (var (method, path) in endpoints)
        {
            foreach (var client in new[] { anonymous, admin })
            {
                foreach (var (name, body) in Bodies)
                {
                    foreach (string query in method == "GET" ? Queries : [""])
                    {
                        var request = new HttpRequestMessage(new HttpMethod(method), path + query) { Content = body() };
                        var response = await client.SendAsync(request);
                        requests++;
                        string text = await response.Content.ReadAsStringAsync();
                        if ((int)response.StatusCode >= 500)
                        {
                            failures.Add($"{method} {path}{query} [{name}] -> {(int)response.StatusCode}: {text[..Math.Min(300, text.Length)]}");
                        }
                        else if ((int)response.StatusCode >= 400 && !IsProblem(response, text))
                        {
                            failures.Add($"{method} {path}{query} [{name}] -> {(int)response.StatusCode} without a problem+json code: {text[..Math.Min(300, text.Length)]}");
                        }
                    }
                }
            }
        }

        output.WriteLine($"{requests} requests over {endpoints.Count} endpoints");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(30)));
    }

    [Fact]
    public async Task An_unknown_path_is_not_found_problem()
    {
        using var client = api.CreateClient();
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/nothing-here"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task A_wrong_method_is_method_not_allowed_problem()
    {
        using var client = api.CreateClient();
        await ApiCalls.AssertProblemAsync(await client.DeleteAsync("/api/v1/auth/login"), HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Theory]
    [InlineData("POST", "/api/v1/books", "text/plain", "{}")]
    [InlineData("PATCH", "/api/v1/books/{book}", "text/plain", "{}")]
    [InlineData("POST", "/api/v1/pools", "application/xml", "<pool/>")]
    [InlineData("POST", "/api/v1/books/{book}/codes/upload", "application/json", "[\"CODE-1\"]")]
    [InlineData("POST", "/api/v1/pools/{pool}/distributions", "text/plain", "{}")]
    public async Task A_body_of_the_wrong_media_type_is_unauthorized_without_a_token_and_forbidden_to_a_user_before_it_is_415(
        string method, string url, string mediaType, string body)
    {
        using var admin = await api.AdminClientAsync();
        string path = await ResolveAsync(admin, url);
        using var anonymous = api.CreateClient();
        var (user, _) = await api.NewUserAsync();
        HttpRequestMessage Request() => new(new HttpMethod(method), path) { Content = new StringContent(body, Encoding.UTF8, mediaType) };

        await ApiCalls.AssertProblemAsync(await anonymous.SendAsync(Request()), HttpStatusCode.Unauthorized, "unauthorized");
        await ApiCalls.AssertProblemAsync(await user.SendAsync(Request()), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(await admin.SendAsync(Request()), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        user.Dispose();
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_unsupported_media_type()
    {
        using var client = api.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/register", new StringContent("email=a", Encoding.UTF8, "text/plain"));
        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task Malformed_json_is_validation_failed_with_errors()
    {
        using var client = api.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/login", Json("{\"email\": "));
        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(JsonValueKind.Object, problem.GetProperty("errors").ValueKind);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
    }

    [Theory]
    [InlineData("/api/v1/books", """{"name":"Strings","maxAssignmentsPerUser":"3"}""", "maxAssignmentsPerUser")]
    [InlineData("/api/v1/books", """{"name":"Strings","lockTtlSeconds":"60"}""", "lockTtlSeconds")]
    [InlineData("/api/v1/books", """{"name":"Twice","name":"Again"}""", "name")]
    [InlineData("/api/v1/books/{book}/codes/generate", """{"pattern":"STR-####","count":"5"}""", "count")]
    [InlineData("/api/v1/pools/{pool}/distributions?dryRun=true", """{"bookId":"{book}","mode":"equal","perUser":"2"}""", "perUser")]
    public async Task A_number_sent_as_a_string_or_a_member_sent_twice_is_validation_failed_and_changes_nothing(string url, string json, string member)
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        var pool = JsonDocument.Parse(await (await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Pool {Guid.NewGuid():N}" })).Content.ReadAsStringAsync()).RootElement;
        string Fill(string text) => text.Replace("{book}", bookId.ToString()).Replace("{pool}", pool.GetProperty("id").GetString());
        long books = await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from books");

        var response = await admin.PostAsync(Fill(url), Json(Fill(json)));

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(member, out _), problem.ToString());
        Assert.Equal(books, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from books"));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1", bookId));
    }

    [Theory]
    [InlineData("GET", "/api/v1/users?limit=abc", "limit", "a whole number (32-bit)")]
    [InlineData("GET", "/api/v1/books?limit=1.5", "limit", "a whole number (32-bit)")]
    [InlineData("GET", "/api/v1/pools?limit=99999999999", "limit", "a whole number (32-bit)")]
    [InlineData("GET", "/api/v1/users/me/coupons?bookId=nope", "bookId", "a UUID")]
    [InlineData("GET", "/api/v1/users/{user}/coupons?limit=ten", "limit", "a whole number (32-bit)")]
    [InlineData("GET", "/api/v1/books/{book}/coupons?userId=nope", "userId", "a UUID")]
    [InlineData("GET", "/api/v1/audit?actorId=not-a-guid", "actorId", "a UUID")]
    [InlineData("POST", "/api/v1/books/{book}/codes/upload?skipInvalid=yes", "skipInvalid", "true or false")]
    [InlineData("POST", "/api/v1/pools/{pool}/distributions?dryRun=maybe", "dryRun", "true or false")]
    public async Task A_query_parameter_that_cannot_be_bound_is_named_in_errors(string method, string url, string parameter, string expected)
    {
        using var admin = await api.AdminClientAsync();
        url = await ResolveAsync(admin, url);
        string value = Uri.UnescapeDataString(url[(url.IndexOf('=') + 1)..]);
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST")
        {
            request.Content = url.Contains("upload", StringComparison.Ordinal)
                ? new StringContent("ABC-123\n", Encoding.UTF8, "text/csv")
                : Json($$"""{"bookId":"{{Guid.NewGuid()}}","mode":"equal"}""");
        }

        var problem = await ApiCalls.AssertProblemAsync(await admin.SendAsync(request), HttpStatusCode.BadRequest, "validation-failed");

        var errors = problem.GetProperty("errors");
        Assert.Equal([parameter], errors.EnumerateObject().Select(e => e.Name));
        Assert.Equal($"The value '{value}' is not valid for {parameter}: send {expected}.", Assert.Single(errors.GetProperty(parameter).EnumerateArray()).GetString());
    }

    [Theory]
    [InlineData("/api/v1/users/me/coupons?state=USED", "state")]
    [InlineData("/api/v1/books/{book}/coupons?state=", "state")]
    [InlineData("/api/v1/users?limit=0", "limit")]
    public async Task A_query_parameter_out_of_range_is_named_in_errors(string url, string parameter)
    {
        using var admin = await api.AdminClientAsync();
        var problem = await ApiCalls.AssertProblemAsync(await admin.GetAsync(await ResolveAsync(admin, url)), HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal([parameter], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Fact]
    public async Task A_value_postgresql_refuses_inside_a_grain_is_validation_failed_and_changes_nothing()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api);

        // A data exception (SQLSTATE class 22, as a NUL in text raises) from the coupon's write, inside its grain.
        var refused = await TestDb.WhileCouponTriggerAsync(api.ConnectionString, code, "raise exception 'bad value' using errcode = '22021';",
            () => CouponCalls.ActAsync(client, code, "lock"));

        var problem = await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["request"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Equal(["assign"], (await CouponCalls.HistoryAsync(client, code)).Select(h => h.GetProperty("action").GetString()));
        Assert.Equal("LOCKED", (await CouponCalls.ActOkAsync(client, code, "lock")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_route_value_of_the_wrong_form_is_not_found_not_a_binding_error()
    {
        using var admin = await api.AdminClientAsync();
        await ApiCalls.AssertProblemAsync(await admin.GetAsync("/api/v1/books/not-a-guid/coupons"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.DeleteAsync($"/api/v1/pools/{Guid.NewGuid()}/members/not-a-guid"), HttpStatusCode.NotFound, "not-found");
    }

    private async Task<string> ResolveAsync(HttpClient admin, string url)
    {
        if (url.Contains("{user}", StringComparison.Ordinal))
        {
            url = url.Replace("{user}", (await ApiCalls.RegisterAsync(api.CreateClient())).Id.ToString(), StringComparison.Ordinal);
        }

        if (url.Contains("{book}", StringComparison.Ordinal))
        {
            url = url.Replace("{book}", (await BookCalls.CreateBookAsync(admin)).ToString(), StringComparison.Ordinal);
        }

        if (url.Contains("{pool}", StringComparison.Ordinal))
        {
            var created = await admin.PostAsync("/api/v1/pools", Json($$"""{"name":"Binding {{Guid.NewGuid():N}}"}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            url = url.Replace("{pool}", JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString(), StringComparison.Ordinal);
        }

        return url;
    }

    private List<(string Method, string Path)> DiscoverEndpoints()
    {
        var sources = api.Factory.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        var found = new List<(string, string)>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            string? template = endpoint.RoutePattern.RawText;
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            if (template is null || template.Contains("swagger", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            string path = "/" + System.Text.RegularExpressions.Regex.Replace(template.TrimStart('/'), @"\{[^}]+\}", Guid.NewGuid().ToString());
            found.AddRange(methods.Select(m => (m, path)));
        }

        return found.Distinct().ToList();
    }

    private static bool IsProblem(HttpResponseMessage response, string text)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return false;
        }

        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
