using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Http;

[Collection(ApiCollection.Name)]
public sealed class DocumentationAndHealthTests(ApiFixture api)
{
    [Fact]
    public async Task Swagger_ui_is_served_with_a_bearer_authorize_scheme()
    {
        using var client = api.CreateClient();
        var ui = await client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("swagger-ui", await ui.Content.ReadAsStringAsync());

        var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        var paths = document.GetProperty("paths");
        var me = paths.GetProperty("/api/v1/users/me").GetProperty("get");
        Assert.True(me.TryGetProperty("security", out _));
        Assert.True(me.GetProperty("responses").TryGetProperty("401", out _));
        var login = paths.GetProperty("/api/v1/auth/login").GetProperty("post");
        Assert.False(login.TryGetProperty("security", out _));
        foreach (string status in new[] { "200", "400", "401", "403", "429" })
        {
            Assert.True(login.GetProperty("responses").TryGetProperty(status, out _), $"login documents {status}");
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_keys_bodies_answers_and_problems_as_the_api_takes_and_gives_them()
    {
        using var client = api.CreateClient();
        var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var paths = document.GetProperty("paths");
        var schemas = document.GetProperty("components").GetProperty("schemas");
        JsonElement Operation(string path, string verb) => paths.GetProperty(path).GetProperty(verb);
        JsonElement Resolve(JsonElement schema) =>
            schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;
        JsonElement Body(string path, string verb, string contentType) =>
            Resolve(Operation(path, verb).GetProperty("requestBody").GetProperty("content").GetProperty(contentType).GetProperty("schema"));
        string[] Headers(JsonElement operation) => operation.TryGetProperty("parameters", out var parameters)
            ? [.. parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "header").Select(p => p.GetProperty("name").GetString()!)]
            : [];

        // The Idempotency-Key header on the six operations that take it, and on no other.
        string[] keyed =
        [
            "post /api/v1/books/{id}/assignments", "post /api/v1/books/{id}/assignments/{code}", "post /api/v1/coupons/{code}/lock",
            "post /api/v1/coupons/{code}/unlock", "post /api/v1/coupons/{code}/redeem", "post /api/v1/pools/{id}/distributions",
        ];
        var withKey = paths.EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Name: $"{op.Name} {path.Name}", Op: op.Value)))
            .Where(op => Headers(op.Op).Contains("Idempotency-Key")).Select(op => op.Name).Order();
        Assert.Equal(keyed.Order(), withKey);

        // Answers with their schemas, the reads included.
        Assert.Equal("#/components/schemas/CouponResponse", Operation("/api/v1/coupons/{code}", "get").GetProperty("responses").GetProperty("200")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        var history = Operation("/api/v1/coupons/{code}/history", "get").GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Equal("array", history.GetProperty("type").GetString());
        Assert.True(Resolve(history.GetProperty("items")).GetProperty("properties").TryGetProperty("fromState", out _));
        foreach (string path in new[] { "/api/v1/users/me/coupons", "/api/v1/users/{id}/coupons" })
        {
            var page = Resolve(Operation(path, "get").GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
            Assert.Equal(["items", "nextCursor"], page.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        }

        Assert.True(Operation("/api/v1/coupons/{code}/lock", "post").GetProperty("responses").TryGetProperty("400", out _));
        Assert.True(Operation("/api/v1/books/{id}", "get").GetProperty("responses").TryGetProperty("503", out _));

        // Bodies: the merge patches by their members, the upload's multipart field, required members.
        Assert.True(Body("/api/v1/books/{id}", "patch", "application/json").GetProperty("properties").TryGetProperty("lockTtlSeconds", out _));
        Assert.True(Body("/api/v1/users/{id}", "patch", "application/merge-patch+json").GetProperty("properties").TryGetProperty("disabled", out _));
        Assert.False(Body("/api/v1/books/{id}", "patch", "application/json").TryGetProperty("required", out _));
        var upload = Body("/api/v1/books/{id}/codes/upload", "post", "multipart/form-data");
        Assert.Equal("binary", upload.GetProperty("properties").GetProperty("file").GetProperty("format").GetString());
        Assert.Equal(["file"], upload.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["userId"], Body("/api/v1/books/{id}/assignments/{code}", "post", "application/json").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["email", "password"], Body("/api/v1/auth/register", "post", "application/json").GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order());
        Assert.Equal(["bookId", "mode"], Body("/api/v1/pools/{id}/distributions", "post", "application/json").GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order());

        // The values of states, modes and roles are listed, in bodies, answers and the state filter; nullable members are marked.
        Assert.Equal(["equal", "random"], Body("/api/v1/pools/{id}/distributions", "post", "application/json").GetProperty("properties").GetProperty("mode").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        var coupon = schemas.GetProperty("CouponResponse").GetProperty("properties");
        Assert.Equal(["UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED"], coupon.GetProperty("state").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal((false, true), (coupon.GetProperty("state").TryGetProperty("nullable", out _), coupon.GetProperty("lockedUntil").GetProperty("nullable").GetBoolean()));
        var stateFilter = Operation("/api/v1/users/me/coupons", "get").GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "state");
        Assert.Equal(4, stateFilter.GetProperty("schema").GetProperty("enum").GetArrayLength());

        // Problems carry code, traceId and (for validation) errors; limit has its bounds.
        var problem = schemas.GetProperty("ProblemDetails").GetProperty("properties");
        Assert.True(problem.TryGetProperty("code", out _) && problem.TryGetProperty("traceId", out _) && problem.TryGetProperty("errors", out _));
        var limit = Operation("/api/v1/books", "get").GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "limit").GetProperty("schema");
        Assert.Equal((1, 1000, 50), (limit.GetProperty("minimum").GetInt32(), limit.GetProperty("maximum").GetInt32(), limit.GetProperty("default").GetInt32()));
    }

    [Fact]
    public async Task Swagger_root_leads_to_the_ui()
    {
        using var client = api.Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = true });
        var response = await client.GetAsync("/swagger");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Live_and_ready_answer_200_when_database_and_cluster_are_up()
    {
        using var client = api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

        var ready = await client.GetAsync("/health/ready");
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("orleans").GetProperty("status").GetString());
    }
}
