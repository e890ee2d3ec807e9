using System.Net;
using System.Net.Http.Headers;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Auth;

[Collection(ApiCollection.Name)]
public sealed class TokenAttackTests(ApiFixture api)
{
    [Fact]
    public async Task No_token_is_unauthorized()
    {
        using var client = api.CreateClient();
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task A_token_with_alg_none_is_unauthorized()
    {
        var (_, user) = await api.NewUserAsync();
        await AssertRefusedAsync(TestTokens.Unsigned(user.Id, "ADMIN"));
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_unauthorized()
    {
        var (_, user) = await api.NewUserAsync();
        await AssertRefusedAsync(TestTokens.Sign(user.Id, "ADMIN", key: "an-attackers-key-that-is-long-enough-0123456789"));
    }

    [Fact]
    public async Task An_expired_token_is_unauthorized()
    {
        var (_, user) = await api.NewUserAsync();
        var past = DateTime.UtcNow.AddHours(-2);
        await AssertRefusedAsync(TestTokens.Sign(user.Id, "USER", notBefore: past, expires: past.AddMinutes(15)));
    }

    [Fact]
    public async Task A_token_for_another_issuer_or_audience_is_unauthorized()
    {
        var (_, user) = await api.NewUserAsync();
        await AssertRefusedAsync(TestTokens.Sign(user.Id, "USER", issuer: "someone-else"));
        await AssertRefusedAsync(TestTokens.Sign(user.Id, "USER", audience: "another-api"));
    }

    [Fact]
    public async Task A_malformed_authorization_header_is_unauthorized()
    {
        await AssertRefusedAsync("not.a.jwt");
        await AssertRefusedAsync("%%%");
    }

    [Fact]
    public async Task A_properly_signed_token_is_accepted()
    {
        var (_, user) = await api.NewUserAsync();
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Sign(user.Id, "USER"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/me")).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/v1/users")]
    [InlineData("GET", "/api/v1/users/00000000-0000-0000-0000-000000000001")]
    [InlineData("PATCH", "/api/v1/users/00000000-0000-0000-0000-000000000001")]
    public async Task A_user_on_an_admin_endpoint_is_forbidden(string method, string path)
    {
        var (client, _) = await api.NewUserAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "PATCH")
        {
            request.Content = new StringContent("""{"role":"ADMIN"}""", System.Text.Encoding.UTF8, "application/json");
        }

        await ApiCalls.AssertProblemAsync(await client.SendAsync(request), HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task A_user_cannot_make_itself_admin()
    {
        var (client, user) = await api.NewUserAsync();
        var response = await client.PatchAsync($"/api/v1/users/{user.Id}", new StringContent("""{"role":"ADMIN"}""", System.Text.Encoding.UTF8, "application/json"));

        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        using var admin = await api.AdminClientAsync();
        var stored = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<UserBody>(admin, $"/api/v1/users/{user.Id}");
        Assert.Equal("USER", stored!.Role);
    }

    private async Task AssertRefusedAsync(string token)
    {
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Bearer {token}");
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/users"), HttpStatusCode.Unauthorized, "unauthorized");
    }
}
