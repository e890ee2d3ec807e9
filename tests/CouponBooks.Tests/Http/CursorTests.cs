using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using CouponBooks.Api.Http;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CouponBooks.Tests.Http;

/// <summary>
/// Every list endpoint that takes a cursor, given cursors that were tampered with: 400 <c>validation-failed</c> naming
/// <c>cursor</c>, never a 500. And the second guard: a value PostgreSQL refuses as data (SQLSTATE class 22) is a 400 too.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class CursorTests(ApiFixture api)
{
    /// <summary>Each listing with its cursor kind and a position such a cursor really holds.</summary>
    private static readonly (string Path, string Kind, string Position)[] Listings =
    [
        ("/api/v1/users", "users", Guid.NewGuid().ToString()),
        ("/api/v1/users/me/coupons", "coupons", "SOME-CODE-1"),
        ("/api/v1/users/{user}/coupons", "coupons", "SOME-CODE-1"),
        ("/api/v1/books", "books", Guid.NewGuid().ToString()),
        ("/api/v1/books/{book}/coupons", "coupons", "SOME-CODE-1"),
        ("/api/v1/pools", "pools", Guid.NewGuid().ToString()),
        ("/api/v1/pools/{pool}/members", "members", Guid.NewGuid().ToString()),
        ("/api/v1/audit", "audit", $"{DateTimeOffset.UtcNow.UtcTicks}_{Guid.NewGuid():N}"),
    ];

    [Fact]
    public async Task A_cursor_as_the_api_writes_it_is_accepted_by_every_listing()
    {
        using var admin = await api.AdminClientAsync();
        foreach (var (path, kind, position) in Listings)
        {
            string url = await UrlAsync(admin, path) + "?cursor=" + Cursor($"{kind}:{position}");
            var response = await admin.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task A_tampered_cursor_is_validation_failed_on_every_listing()
    {
        using var admin = await api.AdminClientAsync();
        foreach (var (path, kind, position) in Listings)
        {
            string url = await UrlAsync(admin, path);
            string other = kind == "books" ? "pools" : "books";
            string[] tampered =
            [
                Cursor($"{kind}:\0"),
                Cursor($"{kind}:{position}") + "AAAA",
                Cursor($"{kind}:{position}\0"),
                Cursor($"{kind}:{position} "),
                Cursor($"{kind}:{position[..^1]}\u00e9"),
                Cursor($"{kind}:"),
                Cursor($"{kind}:{new string('A', 65)}"),
                Cursor($"{kind}:{{{Guid.NewGuid()}}}"),
                Cursor($"{kind}:{Guid.NewGuid():N}"),
                Cursor($"{kind}:some-code"),
                Cursor($"{other}:{Guid.NewGuid()}"),
                Cursor($"{kind.ToUpperInvariant()}:{position}"),
                "Y291cG9uczoA",
            ];

            foreach (string cursor in tampered)
            {
                var response = await admin.GetAsync($"{url}?cursor={Uri.EscapeDataString(cursor)}");
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url} with {cursor} ({Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor))}): {(int)response.StatusCode}");
                var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
                Assert.Equal(["cursor"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
                Assert.Equal("The cursor cannot be decoded.", problem.GetProperty("errors").GetProperty("cursor")[0].GetString());
            }
        }
    }

    [Fact]
    public async Task A_user_tampering_with_the_cursor_of_its_own_coupons_is_validation_failed()
    {
        var (client, _, _, _) = await CouponCalls.OwnedCouponAsync(api, 2);
        foreach (string cursor in new[] { "Y291cG9uczoA", Cursor("coupons:SOME-CODE-1") + "AAAA" })
        {
            var problem = await ApiCalls.AssertProblemAsync(await client.GetAsync($"/api/v1/users/me/coupons?cursor={cursor}"), HttpStatusCode.BadRequest, "validation-failed");
            Assert.Equal(["cursor"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        }
    }

    [Theory]
    [InlineData("22021")]
    [InlineData("22P02")]
    [InlineData("22003")]
    public async Task A_postgres_data_exception_that_reaches_the_handler_is_validation_failed(string sqlState)
    {
        var handler = api.Factory.Services.GetServices<IExceptionHandler>().OfType<ApiExceptionHandler>().Single();
        using var scope = api.Factory.Services.CreateScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = "GET";
        context.Request.Path = "/api/v1/audit";
        context.Response.Body = new MemoryStream();
        var refused = new InvalidOperationException("wrapped", new PostgresException("invalid byte sequence for encoding \"UTF8\": 0x00", "ERROR", "ERROR", sqlState));

        Assert.True(await handler.TryHandleAsync(context, refused, CancellationToken.None));

        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        var problem = JsonDocument.Parse(Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray())).RootElement;
        Assert.Equal("validation-failed", problem.GetProperty("code").GetString());
        Assert.Equal(["request"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Fact]
    public async Task A_postgres_fault_of_another_class_is_left_to_the_server_error_path()
    {
        var handler = api.Factory.Services.GetServices<IExceptionHandler>().OfType<ApiExceptionHandler>().Single();
        using var scope = api.Factory.Services.CreateScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };

        Assert.False(await handler.TryHandleAsync(context, new PostgresException("duplicate key value", "ERROR", "ERROR", "23505"), CancellationToken.None));
    }

    private async Task<string> UrlAsync(HttpClient admin, string path)
    {
        if (path.Contains("{user}", StringComparison.Ordinal))
        {
            var user = await ApiCalls.RegisterAsync(api.CreateClient());
            return path.Replace("{user}", user.Id.ToString(), StringComparison.Ordinal);
        }

        if (path.Contains("{book}", StringComparison.Ordinal))
        {
            return path.Replace("{book}", (await BookCalls.CreateBookAsync(admin)).ToString(), StringComparison.Ordinal);
        }

        if (path.Contains("{pool}", StringComparison.Ordinal))
        {
            var created = await admin.PostAsync("/api/v1/pools", CouponCalls.Json($$"""{"name":"Cursor pool {{Guid.NewGuid():N}}"}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var poolId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
            return path.Replace("{pool}", poolId.ToString(), StringComparison.Ordinal);
        }

        return path;
    }

    private static string Cursor(string text) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
}
