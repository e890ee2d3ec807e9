using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Users;

[Collection(ApiCollection.Name)]
public sealed class UsersAdminTests(ApiFixture api)
{
    [Fact]
    public async Task Paging_through_users_neither_skips_nor_repeats()
    {
        using var admin = await api.AdminClientAsync();
        var created = new List<Guid>();
        for (int i = 0; i < 7; i++)
        {
            created.Add((await ApiCalls.RegisterAsync(api.CreateClient())).Id);
        }

        var seen = new List<Guid>();
        string? cursor = null;
        int pages = 0;
        do
        {
            string url = "/api/v1/users?limit=3" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = JsonDocument.Parse(await admin.GetStringAsync(url)).RootElement;
            var items = page.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("id").GetGuid()).ToList();
            Assert.InRange(items.Count, 0, 3);
            seen.AddRange(items);
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 1000);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.All(created, id => Assert.Contains(id, seen));
        Assert.Equal(seen.Order().ToList(), seen);
    }

    [Fact]
    public async Task Users_page_has_items_and_a_null_next_cursor_on_the_last_page()
    {
        using var admin = await api.AdminClientAsync();
        var page = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/users?limit=1000")).RootElement;
        Assert.Equal(JsonValueKind.Array, page.GetProperty("items").ValueKind);
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task Lookup_by_email_is_exact_and_case_insensitive()
    {
        using var admin = await api.AdminClientAsync();
        var user = await ApiCalls.RegisterAsync(api.CreateClient(), email: ApiCalls.NewEmail("Lookup"));

        var found = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/users?email={Uri.EscapeDataString(user.Email.ToUpperInvariant())}")).RootElement;
        var items = found.GetProperty("items").EnumerateArray().ToList();
        Assert.Single(items);
        Assert.Equal(user.Id, items[0].GetProperty("id").GetGuid());

        var prefix = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/users?email={Uri.EscapeDataString(user.Email[..10])}")).RootElement;
        Assert.Empty(prefix.GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=abc")]
    [InlineData("cursor=%25%25%25")]
    [InlineData("cursor=dXNlcnM6bm90LWEtZ3VpZA")]
    [InlineData("cursor=Ym9va3M6MQ")]
    public async Task A_bad_limit_or_cursor_is_validation_failed(string query)
    {
        using var admin = await api.AdminClientAsync();
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/users?{query}"), HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task Get_by_id_answers_the_user_and_an_unknown_id_is_not_found()
    {
        using var admin = await api.AdminClientAsync();
        var user = await ApiCalls.RegisterAsync(api.CreateClient(), displayName: "Gina");

        var body = await admin.GetFromJsonAsync<UserBody>($"/api/v1/users/{user.Id}");
        Assert.Equal(user.Email, body!.Email);
        Assert.Equal("Gina", body.DisplayName);

        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/users/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.GetAsync("/api/v1/users/not-a-guid"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Patch_changes_only_the_members_sent_and_null_clears_the_display_name()
    {
        using var admin = await api.AdminClientAsync();
        var user = await ApiCalls.RegisterAsync(api.CreateClient(), displayName: "Before");

        var renamed = await PatchAsync(admin, user.Id, """{"displayName":"After"}""");
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var body = (await renamed.Content.ReadFromJsonAsync<UserBody>())!;
        Assert.Equal("After", body.DisplayName);
        Assert.Equal("USER", body.Role);
        Assert.False(body.Disabled);

        var cleared = (await (await PatchAsync(admin, user.Id, """{"displayName":null}""")).Content.ReadFromJsonAsync<UserBody>())!;
        Assert.Null(cleared.DisplayName);

        var stored = await admin.GetFromJsonAsync<UserBody>($"/api/v1/users/{user.Id}");
        Assert.Null(stored!.DisplayName);
    }

    [Fact]
    public async Task Promoting_a_user_shows_in_its_next_token()
    {
        using var admin = await api.AdminClientAsync();
        var user = await ApiCalls.RegisterAsync(api.CreateClient());

        var promoted = (await (await PatchAsync(admin, user.Id, """{"role":"ADMIN"}""")).Content.ReadFromJsonAsync<UserBody>())!;
        Assert.Equal("ADMIN", promoted.Role);

        using var client = await api.ClientForAsync(user.Email, user.Password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users")).StatusCode);
    }

    [Theory]
    [InlineData("""{"role":"OWNER"}""", "role")]
    [InlineData("""{"role":null}""", "role")]
    [InlineData("""{"disabled":"yes"}""", "disabled")]
    [InlineData("""{"disabled":null}""", "disabled")]
    [InlineData("""{"displayName":42}""", "displayName")]
    public async Task Patch_with_a_bad_member_is_validation_failed_and_changes_nothing(string json, string field)
    {
        using var admin = await api.AdminClientAsync();
        var user = await ApiCalls.RegisterAsync(api.CreateClient(), displayName: "Stays");

        var problem = await ApiCalls.AssertProblemAsync(await PatchAsync(admin, user.Id, json), HttpStatusCode.BadRequest, "validation-failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));

        var stored = await admin.GetFromJsonAsync<UserBody>($"/api/v1/users/{user.Id}");
        Assert.Equal(("Stays", "USER", false), (stored!.DisplayName, stored.Role, stored.Disabled));
    }

    [Fact]
    public async Task Patch_of_an_unknown_user_is_not_found()
    {
        using var admin = await api.AdminClientAsync();
        await ApiCalls.AssertProblemAsync(await PatchAsync(admin, Guid.NewGuid(), """{"displayName":"x"}"""), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task An_admin_cannot_disable_or_demote_itself()
    {
        using var admin = await api.AdminClientAsync();
        var me = (await admin.GetFromJsonAsync<UserBody>("/api/v1/users/me"))!;

        await ApiCalls.AssertProblemAsync(await PatchAsync(admin, me.Id, """{"disabled":true}"""), HttpStatusCode.BadRequest, "validation-failed");
        await ApiCalls.AssertProblemAsync(await PatchAsync(admin, me.Id, """{"role":"USER"}"""), HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task Disabling_a_user_stops_its_tokens_at_once_and_enabling_lets_it_back()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user) = await api.NewUserAsync();
        using var anonymous = api.CreateClient();
        var login = await ApiCalls.LoginAsync(anonymous, user.Email, user.Password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/me")).StatusCode);

        var disabled = (await (await PatchAsync(admin, user.Id, """{"disabled":true}""")).Content.ReadFromJsonAsync<UserBody>())!;
        Assert.True(disabled.Disabled);

        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
        await ApiCalls.AssertProblemAsync(
            await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = user.Password }),
            HttpStatusCode.Forbidden, "account-disabled");
        await ApiCalls.AssertProblemAsync(
            await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = login.RefreshToken }),
            HttpStatusCode.Unauthorized, "unauthorized");

        await PatchAsync(admin, user.Id, """{"disabled":false}""");
        var again = await ApiCalls.LoginAsync(anonymous, user.Email, user.Password);
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", again.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/v1/users/me")).StatusCode);
    }

    [Fact]
    public async Task A_user_disabled_in_the_table_without_a_notice_loses_access_within_seconds()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user) = await api.NewUserAsync();
        var other = await ApiCalls.RegisterAsync(api.CreateClient());
        // The access grain is up and has read the table (a disable goes through it) before the flag changes below.
        Assert.Equal(HttpStatusCode.OK, (await PatchAsync(admin, other.Id, """{"disabled":true}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users/me")).StatusCode);

        // As when a patch committed the flag but failed before telling the access grain.
        await TestDb.ExecuteAsync(api.ConnectionString, "update users set disabled = true, version = version + 1 where id = $1", user.Id);
        var deadline = DateTime.UtcNow.AddSeconds(40);
        HttpStatusCode status;
        do
        {
            await Task.Delay(500);
            status = (await client.GetAsync("/api/v1/users/me")).StatusCode;
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Disabling_again_after_a_failure_that_hid_the_commit_stops_the_tokens_at_once()
    {
        using var admin = await api.AdminClientAsync();
        var (client, user) = await api.NewUserAsync();
        var failed = await TestDb.WhileTriggerAsync(api.ConnectionString, "users", $"old.id = '{user.Id}'",
            "raise exception 'lost' using errcode = '53400';", () => PatchAsync(admin, user.Id, """{"disabled":true}"""));

        // ...as if it had committed and only the answer was lost; the admin sends it again.
        await TestDb.ExecuteAsync(api.ConnectionString, "update users set disabled = true, version = version + 1 where id = $1", user.Id);
        var again = await PatchAsync(admin, user.Id, """{"disabled":true}""");

        await ApiCalls.AssertProblemAsync(failed, HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task A_disabled_user_with_a_wrong_password_still_gets_invalid_credentials()
    {
        using var admin = await api.AdminClientAsync();
        var user = await ApiCalls.RegisterAsync(api.CreateClient());
        await PatchAsync(admin, user.Id, """{"disabled":true}""");

        using var client = api.CreateClient();
        await ApiCalls.AssertProblemAsync(
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = user.Email, password = "not-the-password" }),
            HttpStatusCode.Unauthorized, "invalid-credentials");
    }

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, Guid id, string json) =>
        client.PatchAsync($"/api/v1/users/{id}", new StringContent(json, Encoding.UTF8, "application/json"));
}
