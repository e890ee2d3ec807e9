using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Npgsql;

namespace CouponBooks.Tests.Auth;

[Collection(ApiCollection.Name)]
public sealed class AuthTests(ApiFixture api)
{
    [Fact]
    public async Task Register_creates_a_user_with_every_member()
    {
        using var client = api.CreateClient();
        string email = ApiCalls.NewEmail("Register");
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email, password = "long-enough-pw", displayName = "Reggie" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var id = body.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/users/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(email, body.GetProperty("email").GetString());
        Assert.Equal("Reggie", body.GetProperty("displayName").GetString());
        Assert.Equal("USER", body.GetProperty("role").GetString());
        Assert.False(body.GetProperty("disabled").GetBoolean());
        Assert.InRange(body.GetProperty("createdAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(1, await CountUsersAsync(email));
    }

    [Fact]
    public async Task Register_without_display_name_gives_null_not_an_omitted_member()
    {
        using var client = api.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email = ApiCalls.NewEmail(), password = "long-enough-pw" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.Null, body.GetProperty("displayName").ValueKind);
    }

    [Fact]
    public async Task Register_with_an_email_taken_in_another_letter_case_is_email_taken()
    {
        using var client = api.CreateClient();
        string email = ApiCalls.NewEmail("taken");
        await ApiCalls.RegisterAsync(client, email);

        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email = email.ToUpperInvariant(), password = "long-enough-pw" });

        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.Conflict, "email-taken");
        Assert.Equal(1, await CountUsersAsync(email));
    }

    [Fact]
    public async Task Emails_beyond_ascii_compare_case_insensitively_in_register_login_lookup_and_pool_members()
    {
        using var client = api.CreateClient();
        string tail = $"{Guid.NewGuid():N}@example.com";
        var user = await ApiCalls.RegisterAsync(client, $"émile-kelvin-{tail}");
        // Upper case (with the Kelvin sign for one K), and the same letters decomposed (e + combining acute accent).
        string upper = $"ÉMILE-\u212AELVIN-{tail.ToUpperInvariant()}", decomposed = $"e\u0301mile-kelvin-{tail}";

        await ApiCalls.AssertProblemAsync(
            await client.PostAsJsonAsync("/api/v1/auth/register", new { email = upper, password = "long-enough-pw" }), HttpStatusCode.Conflict, "email-taken");
        await ApiCalls.AssertProblemAsync(
            await client.PostAsJsonAsync("/api/v1/auth/register", new { email = decomposed, password = "long-enough-pw" }), HttpStatusCode.Conflict, "email-taken");
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = upper, password = user.Password });
        using var admin = await api.AdminClientAsync();
        var found = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/users?email={Uri.EscapeDataString(decomposed)}")).RootElement;
        var pool = JsonDocument.Parse(await (await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Pool {tail}" })).Content.ReadAsStringAsync()).RootElement;
        var members = await admin.PostAsJsonAsync($"/api/v1/pools/{pool.GetProperty("id").GetGuid()}/members", new { emails = new[] { upper, decomposed } });

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal([user.Id], found.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("id").GetGuid()));
        Assert.Equal("""{"added":1,"alreadyMembers":0,"unknown":[]}""", await members.Content.ReadAsStringAsync());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from users where email like $1", $"%{tail}"));
    }

    [Fact]
    public async Task Register_with_a_short_password_is_weak_password_and_stores_nothing()
    {
        using var client = api.CreateClient();
        string email = ApiCalls.NewEmail("weak");

        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email, password = "123456789" });

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "weak-password");
        Assert.True(problem.GetProperty("errors").TryGetProperty("password", out _));
        Assert.Equal(0, await CountUsersAsync(email));
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("")]
    [InlineData("a@")]
    [InlineData("two words@example.com")]
    public async Task Register_with_a_bad_email_is_validation_failed(string email)
    {
        using var client = api.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", new { email, password = "long-enough-pw" });

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty("email", out _));
    }

    [Fact]
    public async Task Login_answers_a_bearer_token_pair_that_opens_users_me()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client, displayName: "Lou");

        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email.ToUpperInvariant(), password = user.Password });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tokens = (await response.Content.ReadFromJsonAsync<Tokens>())!;
        Assert.Equal("Bearer", tokens.TokenType);
        Assert.Equal(900, tokens.ExpiresIn);
        Assert.False(string.IsNullOrEmpty(tokens.RefreshToken));

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        var me = await client.GetFromJsonAsync<UserBody>("/api/v1/users/me");
        Assert.Equal(user.Id, me!.Id);
        Assert.Equal("Lou", me.DisplayName);
        Assert.Equal("USER", me.Role);
    }

    [Fact]
    public async Task Access_token_carries_sub_and_role_and_is_checked_for_issuer_and_audience()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        var tokens = await ApiCalls.LoginAsync(client, user.Email, user.Password);

        var claims = TestTokens.ReadPayload(tokens.AccessToken);
        Assert.Equal(user.Id.ToString(), claims.GetProperty("sub").GetString());
        Assert.Equal("USER", claims.GetProperty("role").GetString());
        Assert.Equal(ApiFixture.JwtIssuer, claims.GetProperty("iss").GetString());
        Assert.Equal(ApiFixture.JwtAudience, claims.GetProperty("aud").GetString());
        Assert.Equal("HS256", TestTokens.ReadHeader(tokens.AccessToken).GetProperty("alg").GetString());
    }

    [Fact]
    public async Task Wrong_password_and_unknown_email_get_the_same_invalid_credentials_answer()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);

        var wrong = await ApiCalls.AssertProblemAsync(
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = "not-the-password" }),
            HttpStatusCode.Unauthorized, "invalid-credentials");
        var unknown = await ApiCalls.AssertProblemAsync(
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = ApiCalls.NewEmail("nobody"), password = "not-the-password" }),
            HttpStatusCode.Unauthorized, "invalid-credentials");

        Assert.Equal(wrong.GetProperty("title").GetString(), unknown.GetProperty("title").GetString());
        Assert.Equal(wrong.GetProperty("detail").GetString(), unknown.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Five_failed_logins_lock_the_account_even_for_the_right_password()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        for (int i = 0; i < 5; i++)
        {
            await ApiCalls.AssertProblemAsync(
                await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = $"wrong-password-{i}" }),
                HttpStatusCode.Unauthorized, "invalid-credentials");
        }

        var locked = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = user.Password });

        await ApiCalls.AssertProblemAsync(locked, HttpStatusCode.TooManyRequests, "account-locked");
        Assert.InRange(int.Parse(locked.Headers.GetValues("Retry-After").Single()), 800, 900);
    }

    [Fact]
    public async Task Failed_logins_with_an_unknown_email_lock_it_out_as_they_lock_an_account()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        string unknown = ApiCalls.NewEmail("nobody");
        var known = new List<(HttpStatusCode, string)>();
        var nobody = new List<(HttpStatusCode, string)>();
        HttpResponseMessage? lastUnknown = null;
        for (int i = 0; i < 6; i++)
        {
            known.Add(await StatusAndCodeAsync(await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = $"wrong-password-{i}" })));
            // Every other attempt in upper case: one email, whatever its letter case.
            lastUnknown = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = i % 2 == 0 ? unknown : unknown.ToUpperInvariant(), password = $"wrong-password-{i}" });
            nobody.Add(await StatusAndCodeAsync(lastUnknown));
        }

        Assert.Equal([.. Enumerable.Repeat((HttpStatusCode.Unauthorized, "invalid-credentials"), 5), (HttpStatusCode.TooManyRequests, "account-locked")], known);
        Assert.Equal(known, nobody);
        Assert.InRange(int.Parse(lastUnknown!.Headers.GetValues("Retry-After").Single()), 800, 900);
    }

    private static async Task<(HttpStatusCode, string)> StatusAndCodeAsync(HttpResponseMessage response) =>
        (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString()!);

    [Fact]
    public async Task Four_failed_logins_then_the_right_password_still_logs_in()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        for (int i = 0; i < 4; i++)
        {
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = "wrong-password" });
        }

        await ApiCalls.LoginAsync(client, user.Email, user.Password);
    }

    [Fact]
    public async Task Refresh_rotates_and_a_reused_token_revokes_its_family()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        var first = await ApiCalls.LoginAsync(client, user.Email, user.Password);
        var otherLogin = await ApiCalls.LoginAsync(client, user.Email, user.Password);

        var second = await RefreshAsync(client, first.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var secondTokens = (await second.Content.ReadFromJsonAsync<Tokens>())!;
        Assert.NotEqual(first.RefreshToken, secondTokens.RefreshToken);
        Assert.Equal("Bearer", secondTokens.TokenType);

        // The first token again: refused, and the token rotated from it dies with it.
        await ApiCalls.AssertProblemAsync(await RefreshAsync(client, first.RefreshToken), HttpStatusCode.Unauthorized, "unauthorized");
        await ApiCalls.AssertProblemAsync(await RefreshAsync(client, secondTokens.RefreshToken), HttpStatusCode.Unauthorized, "unauthorized");

        // Another login's family is untouched.
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(client, otherLogin.RefreshToken)).StatusCode);
    }

    [Fact]
    public async Task A_refreshed_access_token_opens_users_me()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        var login = await ApiCalls.LoginAsync(client, user.Email, user.Password);
        var refreshed = (await (await RefreshAsync(client, login.RefreshToken)).Content.ReadFromJsonAsync<Tokens>())!;

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", refreshed.AccessToken);
        var me = await client.GetFromJsonAsync<UserBody>("/api/v1/users/me");
        Assert.Equal(user.Id, me!.Id);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Refresh_with_a_token_never_issued_is_unauthorized(string token)
    {
        using var client = api.CreateClient();
        await ApiCalls.AssertProblemAsync(await RefreshAsync(client, token), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Refresh_with_a_forged_token_for_a_real_user_is_refused_and_does_not_revoke_the_real_one()
    {
        using var client = api.CreateClient();
        var user = await ApiCalls.RegisterAsync(client);
        var login = await ApiCalls.LoginAsync(client, user.Email, user.Password);
        var real = Assert.IsType<CouponBooks.Users.RefreshTokenFormat>(DecodeRefresh(login.RefreshToken));
        string forgedOlder = (real with { Generation = 0, Mac = new byte[32] }).Encode();

        await ApiCalls.AssertProblemAsync(await RefreshAsync(client, forgedOlder), HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(client, login.RefreshToken)).StatusCode);
    }

    [Fact]
    public async Task Refresh_without_a_token_is_validation_failed()
    {
        using var client = api.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/refresh", new { });
        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
    }

    private static Task<HttpResponseMessage> RefreshAsync(HttpClient client, string token) =>
        client.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = token });

    private static CouponBooks.Users.RefreshTokenFormat? DecodeRefresh(string token) =>
        CouponBooks.Users.RefreshTokenFormat.TryDecode(token, out var value) ? value : null;

    private async Task<long> CountUsersAsync(string email)
    {
        await using var connection = new NpgsqlConnection(api.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select count(*) from users where lower(email) = lower(@email)", connection);
        command.Parameters.AddWithValue("email", email);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
