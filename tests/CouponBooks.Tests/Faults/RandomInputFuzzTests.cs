using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Faults;

/// <summary>
/// A seeded random fuzz of every endpoint: random bytes, wrong types, huge numbers, odd unicode, bad cursors and ids,
/// wrong content types and deep JSON, as a stranger, a user and an admin. No answer may be a server error, and every
/// error must be problem+json with a code. Set <c>COUPONBOOKS_FUZZ_SEED</c> to replay a run.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed partial class RandomInputFuzzTests(ApiFixture api, ITestOutputHelper output)
{
    private const int MaxRequests = 6000;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);

    private static readonly string[] Fields =
    [
        "email", "password", "displayName", "role", "disabled", "refreshToken", "name", "description", "maxAssignmentsPerUser",
        "maxTotalAssignments", "maxRedemptionsPerCoupon", "lockTtlSeconds", "validFrom", "validUntil", "pattern", "count", "userId",
        "userIds", "emails", "bookId", "mode", "perUser", "total", "seed", "file",
    ];

    private static readonly string[] QueryKeys = ["limit", "cursor", "state", "bookId", "userId", "email", "dryRun", "skipInvalid", "mode"];

    private static readonly string[] OddStrings =
    [
        "", " ", "null", "true", "-1", "0", "1e309", "-0", "NaN", "Infinity", "99999999999999999999999999", "1.5", "0x10",
        "not-a-guid", "00000000-0000-0000-0000-000000000000", "{00000000-0000-0000-0000-00000000000G}", "ASSIGNED", "redeemed",
        "a@b.c", "A@B.C ", "\u0000", "\u202Eevil", "\u200B\u200B", "😀🎉", "\uD800", "Ω≈ç√∫", "e\u0301", "ＳＵＭＭＥＲ", "ß", "İ",
        "'; drop table coupons; --", "<script>", "%00", "..%2F..%2Fetc%2Fpasswd", "SUMMER-####-????", "####", "*",
        new string('A', 300), new string('9', 5000), "equal", "random", "ADMIN", "USER", "2026-13-45T25:61:00Z", "2020-01-01T00:00:00Z",
    ];

    // The in-memory test server decodes paths itself and throws on a NUL (Kestrel answers such a request line 400 before the app).
    private static readonly string[] PathStrings = OddStrings.Where(s => !s.Contains('\u0000') && !s.Contains("%00")).ToArray();

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16", "application/json; charset=nope",
        "text/csv", "text/plain", "multipart/form-data", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded",
        "application/xml", "application/problem+json", "*/*", "garbage",
    ];

    [Fact]
    public async Task Random_malformed_input_to_every_endpoint_never_gets_a_server_error()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("COUPONBOOKS_FUZZ_SEED"), out int given) ? given : Random.Shared.Next();
        output.WriteLine($"fuzz seed {seed} (replay: COUPONBOOKS_FUZZ_SEED={seed} ./test.sh --filter RandomInputFuzzTests)");
        var random = new Random(seed);

        using var admin = await api.AdminClientAsync();
        var (user, victim) = await api.NewUserAsync();
        var (bookId, codes) = await CouponCalls.BookWithCodesAsync(admin, 20);
        string code = (await CouponCalls.AssignOkAsync(user, bookId)).GetProperty("code").GetString()!;
        var pool = JsonDocument.Parse(await (await admin.PostAsync("/api/v1/pools", CouponCalls.Json("""{"name":"fuzz"}"""))).Content.ReadAsStringAsync())
            .RootElement.GetProperty("id").GetString()!;
        string[] ids = [bookId.ToString(), victim.Id.ToString(), pool, Guid.NewGuid().ToString()];
        string[] couponCodes = [code, codes[^1], "NO-SUCH-CODE"];
        string userToken = user.DefaultRequestHeaders.Authorization!.Parameter!;
        string adminToken = admin.DefaultRequestHeaders.Authorization!.Parameter!;

        var endpoints = DiscoverEndpoints();
        using var client = api.CreateClient();
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        var clock = Stopwatch.StartNew();
        int sent = 0;
        while (sent < MaxRequests && clock.Elapsed < MaxDuration)
        {
            var (method, template) = endpoints[random.Next(endpoints.Count)];
            string path = RouteParameter().Replace(template, m => PathValue(random, m.Groups[1].Value, ids, couponCodes));
            string query = Query(random);
            var request = new HttpRequestMessage(new HttpMethod(random.Next(20) == 0 ? Pick(random, ["GET", "POST", "PUT", "PATCH", "DELETE"]) : method), path + query);
            string bodyKind = AddBody(random, request);
            switch (random.Next(4))
            {
                case 0:
                    break;
                case 1:
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", userToken);
                    break;
                case 2:
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
                    break;
                default:
                    request.Headers.TryAddWithoutValidation("Authorization", Pick(random, ["Bearer", "Bearer ", "Basic YTpi", "Bearer a.b.c", $"Bearer {userToken[..^3]}xyz", "\u00e9"]));
                    break;
            }

            if (random.Next(4) == 0)
            {
                request.Headers.TryAddWithoutValidation("Idempotency-Key", Pick(random, OddStrings));
            }

            string description = $"{request.Method} {path}{query} [{bodyKind}]";
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request);
            }
            catch (InvalidOperationException) when (request.Headers.Any(h => h.Value.Any(v => v.Any(c => c > 127))))
            {
                continue; // the client refused to send a header value that is not ASCII
            }

            sent++;
            int status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            string text = await response.Content.ReadAsStringAsync();
            if (status >= 500)
            {
                failures.Add($"{description} -> {status}: {text[..Math.Min(300, text.Length)]}");
            }
            else if (status >= 400 && !IsProblem(response, text))
            {
                failures.Add($"{description} -> {status} without a problem+json code: {text[..Math.Min(300, text.Length)]}");
            }
        }

        output.WriteLine($"{sent} requests over {endpoints.Count} endpoints in {FaultSetup.Seconds(clock.Elapsed)}: " +
            string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        Assert.True(failures.Count == 0, $"seed {seed}:\n" + string.Join("\n", failures.Take(30)));
        Assert.True(sent >= 200, $"only {sent} requests were sent");
    }

    [Fact]
    public async Task Bodies_the_fuzz_found_answering_500_are_client_errors()
    {
        using var admin = await api.AdminClientAsync();
        var (user, victim) = await api.NewUserAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);

        // An unknown charset: 415, not a failed decode.
        var unknownCharset = new StringContent("""{"email":"a@b.c","password":"long-enough-pw"}""");
        unknownCharset.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=nope");
        await ApiCalls.AssertProblemAsync(await api.CreateClient().PostAsync("/api/v1/auth/login", unknownCharset), System.Net.HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");

        // A member given twice in a merge patch: 400, and nothing changes.
        await ApiCalls.AssertProblemAsync(await admin.PatchAsync($"/api/v1/books/{bookId}", CouponCalls.Json("""{"name":"a","name":"b"}""")), System.Net.HttpStatusCode.BadRequest, "validation-failed");
        await ApiCalls.AssertProblemAsync(await admin.PatchAsync($"/api/v1/users/{victim.Id}", CouponCalls.Json("""{"disabled":false,"disabled":true}""")), System.Net.HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await user.GetAsync("/api/v1/users/me")).StatusCode);

        // A multipart upload without a boundary: 400.
        var noBoundary = new ByteArrayContent("--x\r\n"u8.ToArray());
        noBoundary.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");
        await ApiCalls.AssertProblemAsync(await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", noBoundary), System.Net.HttpStatusCode.BadRequest, "validation-failed");
        var wrongBoundary = new ByteArrayContent("""{"name":"a"}"""u8.ToArray());
        wrongBoundary.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=xyz");
        await ApiCalls.AssertProblemAsync(await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", wrongBoundary), System.Net.HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(0L, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));

        // An Idempotency-Key with a control character (a NUL cannot be stored): 400.
        var (codesBook, codes) = await CouponCalls.BookWithCodesAsync(admin, 1);
        string code = (await CouponCalls.AssignOkAsync(user, codesBook)).GetProperty("code").GetString()!;
        var keyed = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/coupons/{code}/lock");
        keyed.Headers.TryAddWithoutValidation("Idempotency-Key", "key\u0000");
        await ApiCalls.AssertProblemAsync(await user.SendAsync(keyed), System.Net.HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal("ASSIGNED", JsonDocument.Parse(await user.GetStringAsync($"/api/v1/coupons/{codes[0]}")).RootElement.GetProperty("state").GetString());
    }

    private static string PathValue(Random random, string parameter, string[] ids, string[] codes) => random.Next(3) switch
    {
        0 when parameter.StartsWith("code", StringComparison.Ordinal) => Pick(random, codes),
        0 => Pick(random, ids),
        1 => Guid.NewGuid().ToString(),
        _ => Escape(random, Pick(random, PathStrings)),
    };

    private static string Query(Random random)
    {
        int count = random.Next(4);
        if (count == 0)
        {
            return "";
        }

        var parts = Enumerable.Range(0, count).Select(_ =>
        {
            string key = Pick(random, QueryKeys);
            string value = key == "cursor" && random.Next(2) == 0 ? RandomCursor(random) : Pick(random, OddStrings);
            return $"{key}={Escape(random, value)}";
        });
        return "?" + string.Join("&", parts);
    }

    /// <summary>Something that looks like a cursor: base64 of random bytes or of almost-right JSON.</summary>
    private static string RandomCursor(Random random)
    {
        byte[] bytes = random.Next(2) == 0
            ? RandomBytes(random, random.Next(1, 64))
            : Encoding.UTF8.GetBytes(Pick(random, ["{\"k\":\"coupons\",\"a\":1}", "{}", "[]", "{\"after\":null}", "coupons:", "users:\u0000"]));
        string text = Convert.ToBase64String(bytes);
        return random.Next(2) == 0 ? text.TrimEnd('=').Replace('+', '-').Replace('/', '_') : text;
    }

    private static string Escape(Random random, string value) =>
        random.Next(5) == 0 ? value.Replace("/", "%2F").Replace("?", "%3F").Replace("#", "%23") : Uri.EscapeDataString(value);

    private static string AddBody(Random random, HttpRequestMessage request)
    {
        (string kind, byte[]? body) = random.Next(9) switch
        {
            0 => ("none", null),
            1 => ("random bytes", RandomBytes(random, random.Next(0, 2048))),
            2 => ("random json", Encoding.UTF8.GetBytes(RandomObject(random, depth: 0))),
            3 => ("truncated json", Truncate(random, RandomObject(random, depth: 0))),
            4 => ("deep json", Encoding.UTF8.GetBytes(Deep(random))),
            5 => ("duplicate keys", Encoding.UTF8.GetBytes($"{{\"name\":\"a\",\"name\":{RandomValue(random, 1)},\"email\":1,\"email\":\"x@y.z\"}}")),
            6 => ("csv", Encoding.UTF8.GetBytes(string.Join(Pick(random, ["\n", "\r\n", "\r"]), Enumerable.Range(0, random.Next(1, 30)).Select(_ => Pick(random, OddStrings))))),
            7 => ("utf-16 json", Encoding.Unicode.GetBytes(RandomObject(random, depth: 0))),
            _ => ("json scalar", Encoding.UTF8.GetBytes(RandomValue(random, 3))),
        };
        if (body is null)
        {
            return kind;
        }

        var content = new ByteArrayContent(body);
        if (random.Next(10) != 0)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", Pick(random, ContentTypes));
        }

        request.Content = content;
        return $"{kind}, {body.Length} bytes, {content.Headers.ContentType?.ToString() ?? "no content type"}";
    }

    private static string RandomObject(Random random, int depth)
    {
        var members = Enumerable.Range(0, random.Next(0, 8)).Select(_ => $"{JsonSerializer.Serialize(Pick(random, Fields))}:{RandomValue(random, depth + 1)}");
        return "{" + string.Join(",", members) + "}";
    }

    private static string RandomValue(Random random, int depth) => random.Next(depth > 3 ? 8 : 11) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "false",
        2 => random.NextInt64(long.MinValue, long.MaxValue).ToString(),
        3 => Pick(random, ["1e400", "-1e400", "99999999999999999999999999999", "-0", "0.0000000001", "2147483648", "-2147483649", "1.5", "1E3"]),
        4 => random.Next(-5, 2000).ToString(),
        5 or 6 => JsonSerializer.Serialize(Pick(random, OddStrings)),
        7 => JsonSerializer.Serialize(Guid.NewGuid()),
        8 => "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ => RandomValue(random, depth + 1))) + "]",
        _ => RandomObject(random, depth),
    };

    private static byte[] Truncate(Random random, string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        return bytes[..random.Next(0, Math.Max(1, bytes.Length))];
    }

    private static string Deep(Random random)
    {
        int depth = random.Next(50, 20_000);
        return random.Next(2) == 0
            ? new string('[', depth) + new string(']', depth)
            : string.Concat(Enumerable.Repeat("{\"name\":", depth)) + "1" + new string('}', depth);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private List<(string Method, string Template)> DiscoverEndpoints()
    {
        var sources = api.Factory.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        var found = new List<(string, string)>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            string? template = endpoint.RoutePattern.RawText;
            if (template is null || template.Contains("swagger", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            found.AddRange(methods.Select(m => (m, "/" + template.TrimStart('/'))));
        }

        return [.. found.Distinct().OrderBy(e => e.Item2, StringComparer.Ordinal).ThenBy(e => e.Item1, StringComparer.Ordinal)];
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

    [GeneratedRegex(@"\{([^}:?]+)[^}]*\}")]
    private static partial Regex RouteParameter();
}
