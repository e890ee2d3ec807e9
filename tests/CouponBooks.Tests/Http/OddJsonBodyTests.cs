using System.Net;
using System.Text;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Http;

/// <summary>
/// Odd JSON sent to the merge patches (bound as JsonObject, read member by member) and to typed bodies: unpaired
/// UTF-16 surrogates in values and member names, huge numbers, nesting, duplicates, bodies that are not objects.
/// Always 400 <c>validation-failed</c> naming the member at fault (or <c>body</c>), never a 500.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OddJsonBodyTests(ApiFixture api)
{
    [Theory]
    [InlineData("user", """{"displayName":"\ud800"}""", "displayName")]
    [InlineData("user", """{"displayName":"a\udfffb"}""", "displayName")]
    [InlineData("user", """{"displayName":"\udc00\ud800"}""", "displayName")]
    [InlineData("user", """{"role":"\ud800"}""", "role")]
    [InlineData("user", """{"disabled":1e400}""", "disabled")]
    [InlineData("user", """{"disabled":123456789012345678901234567890}""", "disabled")]
    [InlineData("user", """{"displayName":{"a":[1,{"b":null}]}}""", "displayName")]
    [InlineData("user", """{"\ud800":true}""", "body")]
    [InlineData("user", """{"displayName":"a","displayName":"b"}""", "body")]
    [InlineData("user", "null", "body")]
    [InlineData("user", "[]", "body")]
    [InlineData("user", """[{"displayName":"x"}]""", "body")]
    [InlineData("user", "\"text\"", "body")]
    [InlineData("user", "12", "body")]
    [InlineData("book", """{"name":"\udfff"}""", "name")]
    [InlineData("book", """{"description":"\ud800 text"}""", "description")]
    [InlineData("book", """{"validFrom":"\ud800"}""", "validFrom")]
    [InlineData("book", """{"lockTtlSeconds":1e400}""", "lockTtlSeconds")]
    [InlineData("book", """{"maxTotalAssignments":99999999999999999999999}""", "maxTotalAssignments")]
    [InlineData("book", """{"maxAssignmentsPerUser":-1e-400}""", "maxAssignmentsPerUser")]
    [InlineData("book", """{"\udfff":1}""", "body")]
    [InlineData("book", """{"name":"a","name":"b"}""", "body")]
    [InlineData("book", "null", "body")]
    [InlineData("book", "[]", "body")]
    [InlineData("book", "false", "body")]
    [InlineData("new book", """{"name":"\ud800"}""", "name")]
    [InlineData("register", """{"email":"a@example.com","password":"long-enough-password","displayName":"\udfff"}""", "displayName")]
    public async Task An_odd_json_body_is_validation_failed_naming_the_member(string target, string body, string field)
    {
        using var admin = await api.AdminClientAsync();
        var (method, url) = await OddBodyTargetAsync(admin, target);

        var response = await admin.SendAsync(new HttpRequestMessage(method, url) { Content = Json(body) });

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Theory]
    [InlineData("user", "displayName")]
    [InlineData("book", "name")]
    public async Task A_deeply_nested_patch_is_validation_failed_naming_the_body(string target, string member)
    {
        using var admin = await api.AdminClientAsync();
        var (method, url) = await OddBodyTargetAsync(admin, target);
        string body = $$"""{"{{member}}":{{new string('[', 200)}}{{new string(']', 200)}}}""";

        var response = await admin.SendAsync(new HttpRequestMessage(method, url) { Content = Json(body) });

        // The JSON reader gives up on the whole document before any member is read.
        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["body"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Theory]
    [InlineData("user")]
    [InlineData("book")]
    public async Task A_patch_with_no_body_is_validation_failed(string target)
    {
        using var admin = await api.AdminClientAsync();
        var (method, url) = await OddBodyTargetAsync(admin, target);

        var response = await admin.SendAsync(new HttpRequestMessage(method, url) { Content = Json("") });

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["body"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    private async Task<(HttpMethod Method, string Url)> OddBodyTargetAsync(HttpClient admin, string target) => target switch
    {
        "user" => (HttpMethod.Patch, $"/api/v1/users/{(await ApiCalls.RegisterAsync(api.CreateClient())).Id}"),
        "book" => (HttpMethod.Patch, $"/api/v1/books/{await BookCalls.CreateBookAsync(admin)}"),
        "new book" => (HttpMethod.Post, "/api/v1/books"),
        _ => (HttpMethod.Post, "/api/v1/auth/register"),
    };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
