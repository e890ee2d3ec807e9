using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Audit;

/// <summary>Admin actions land in the audit log once each, with their actor and target; the log pages newest first.</summary>
[Collection(ApiCollection.Name)]
public sealed class AuditTests(ApiFixture api)
{
    [Fact]
    public async Task Every_admin_action_is_recorded_once_with_its_actor_target_and_details()
    {
        var (admin, actor) = await NewAdminAsync();
        var bootstrapId = await MyIdAsync(await api.AdminClientAsync());

        var bookId = await BookCalls.CreateBookAsync(admin, new { name = "Audited", maxAssignmentsPerUser = 2 });
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/books/{bookId}", CouponCalls.Json("""{"name":"Audited 2","maxTotalAssignments":null,"unknown":1}"""))).StatusCode);
        var generate = await admin.PostAsJsonAsync($"/api/v1/books/{bookId}/codes/generate", new { pattern = "AUD-######-??", count = 20 });
        var generateJob = JsonDocument.Parse(await generate.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetGuid();
        await BookCalls.WaitForJobAsync(admin, generate);
        string prefix = $"AU{Guid.NewGuid():N}"[..10].ToUpperInvariant();
        var upload = await BookCalls.UploadCsvAsync(admin, bookId, $"code\n{prefix}-1\n{prefix}-2\nnot a code\n", skipInvalid: true);
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);

        var created = await admin.PostAsJsonAsync("/api/v1/pools", new { name = "Audited pool", description = "d" });
        var poolId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        var (_, member) = await api.NewUserAsync();
        var (_, other) = await api.NewUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members", new { userIds = new[] { member.Id, other.Id, Guid.NewGuid() }, emails = new[] { member.Email } })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/pools/{poolId}/members/{other.Id}")).StatusCode);
        var distribute = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/pools/{poolId}/distributions") { Content = JsonContent.Create(new { bookId, mode = "equal", perUser = 2 }) };
        distribute.Headers.Add("Idempotency-Key", "audit-once");
        var distributed = await admin.SendAsync(distribute);
        var distributionJob = JsonDocument.Parse(await distributed.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetGuid();
        await BookCalls.WaitForJobAsync(admin, distributed);
        var retry = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/pools/{poolId}/distributions") { Content = JsonContent.Create(new { bookId, mode = "equal", perUser = 2 }) };
        retry.Headers.Add("Idempotency-Key", "audit-once");
        Assert.Equal(distributionJob, JsonDocument.Parse(await (await admin.SendAsync(retry)).Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetGuid());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/pools/{poolId}/distributions?dryRun=true", JsonContent.Create(new { bookId, mode = "equal" }))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/pools/{poolId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/users/{member.Id}", CouponCalls.Json("""{"disabled":true,"role":"admin"}"""))).StatusCode);

        // Refused actions leave no entry.
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/v1/books", new { name = "" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PatchAsync($"/api/v1/books/{Guid.NewGuid()}", CouponCalls.Json("""{"name":"x"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/v1/pools/{poolId}")).StatusCode);

        var entries = await ListAsync(admin, $"actorId={actor.Id}&limit=1000");
        Assert.Equal(
            ["user.updated", "pool.deleted", "pool.distribution-started", "pool.members-removed", "pool.members-added", "pool.created",
             "book.codes-uploaded", "book.codes-generated", "book.updated", "book.created"],
            entries.Select(e => e.GetProperty("action").GetString()));
        Assert.All(entries, e =>
        {
            Assert.Equal(actor.Id, e.GetProperty("actorId").GetGuid());
            Assert.Equal(actor.Email, e.GetProperty("actorEmail").GetString());
            Assert.Equal(JsonValueKind.Object, e.GetProperty("details").ValueKind);
            Assert.True(e.GetProperty("at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-10));
        });
        var at = entries.Select(e => e.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(at.OrderByDescending(t => t), at);

        var byAction = entries.ToDictionary(e => e.GetProperty("action").GetString()!);
        AssertTarget(byAction["book.created"], "book", bookId, """{"name":"Audited","description":null,"maxAssignmentsPerUser":2,"maxTotalAssignments":null,"maxRedemptionsPerCoupon":1,"lockTtlSeconds":300,"validFrom":null,"validUntil":null}""");
        AssertTarget(byAction["book.updated"], "book", bookId, """{"name":"Audited 2","maxTotalAssignments":null}""");
        AssertTarget(byAction["book.codes-generated"], "book", bookId, $$"""{"jobId":"{{generateJob}}","pattern":"AUD-######-??","count":20}""");
        AssertTarget(byAction["book.codes-uploaded"], "book", bookId, """{"jobId":null,"lines":3,"skipInvalid":true,"accepted":2,"skipped":1}""");
        AssertTarget(byAction["pool.created"], "pool", poolId, """{"name":"Audited pool","description":"d"}""");
        AssertTarget(byAction["pool.members-added"], "pool", poolId, """{"userIds":3,"emails":1,"added":2,"alreadyMembers":0,"unknown":1}""");
        AssertTarget(byAction["pool.members-removed"], "pool", poolId, $$"""{"userId":"{{other.Id}}"}""");
        var distribution = byAction["pool.distribution-started"];
        Assert.Equal(distributionJob, distribution.GetProperty("details").GetProperty("jobId").GetGuid());
        AssertTarget(distribution, "pool", poolId, $$"""{"jobId":"{{distributionJob}}","bookId":"{{bookId}}","mode":"equal","perUser":2,"total":null,"seed":{{distribution.GetProperty("details").GetProperty("seed").GetInt64()}}}""");
        AssertTarget(byAction["pool.deleted"], "pool", poolId, """{"name":"Audited pool","memberCount":1}""");
        AssertTarget(byAction["user.updated"], "user", member.Id, """{"role":"ADMIN","disabled":true}""");

        // The promotion of this test's admin is the bootstrap admin's entry.
        var promotions = await ListAsync(admin, $"action=user.updated&actorId={bootstrapId}&limit=1000");
        var promotion = Assert.Single(promotions, e => e.GetProperty("targetId").GetGuid() == actor.Id);
        AssertTarget(promotion, "user", actor.Id, """{"role":"ADMIN"}""");
        Assert.Equal(ApiFixture.AdminEmail, promotion.GetProperty("actorEmail").GetString());
    }

    [Fact]
    public async Task Filters_by_action_and_actor_and_pages_neither_skip_nor_repeat()
    {
        var (admin, actor) = await NewAdminAsync();
        var pools = new List<Guid>();
        for (int i = 0; i < 7; i++)
        {
            var created = await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Paged {i}" });
            pools.Add(JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid());
        }

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/pools/{pools[0]}")).StatusCode);

        var all = await ListAsync(admin, $"actorId={actor.Id}&limit=1000");
        Assert.Equal(8, all.Count);
        var created7 = await ListAsync(admin, $"actorId={actor.Id}&action=pool.created");
        Assert.Equal(Enumerable.Reverse(pools), created7.Select(e => e.GetProperty("targetId").GetGuid()));
        Assert.Single(await ListAsync(admin, $"actorId={actor.Id}&action=pool.deleted"));
        Assert.Empty(await ListAsync(admin, $"actorId={actor.Id}&action=book.created"));
        Assert.Empty(await ListAsync(admin, $"actorId={Guid.NewGuid()}"));

        foreach (int size in new[] { 1, 3, 8 })
        {
            var paged = new List<Guid>();
            string? cursor = null;
            int pages = 0;
            do
            {
                var page = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/audit?actorId={actor.Id}&limit={size}{(cursor is null ? "" : "&cursor=" + cursor)}")).RootElement;
                var items = page.GetProperty("items").EnumerateArray().ToList();
                Assert.InRange(items.Count, 1, size);
                paged.AddRange(items.Select(e => e.GetProperty("id").GetGuid()));
                cursor = page.GetProperty("nextCursor").GetString();
                pages++;
            }
            while (cursor is not null);

            Assert.Equal(all.Select(e => e.GetProperty("id").GetGuid()), paged);
            Assert.Equal((8 + size - 1) / size, pages);
        }

        // The whole log, newest first, also pages without gaps.
        var first = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/audit?limit=2")).RootElement;
        Assert.Equal(2, first.GetProperty("items").GetArrayLength());
        var second = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/audit?limit=2&cursor={first.GetProperty("nextCursor").GetString()}")).RootElement;
        var firstLast = first.GetProperty("items")[1];
        var secondFirst = second.GetProperty("items")[0];
        Assert.True(firstLast.GetProperty("at").GetDateTimeOffset() >= secondFirst.GetProperty("at").GetDateTimeOffset());
        Assert.NotEqual(firstLast.GetProperty("id").GetGuid(), secondFirst.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task A_user_is_forbidden_and_no_token_is_unauthorized()
    {
        var (user, _) = await api.NewUserAsync();
        await ApiCalls.AssertProblemAsync(await user.GetAsync("/api/v1/audit"), HttpStatusCode.Forbidden, "forbidden");
        using var anonymous = api.CreateClient();
        await ApiCalls.AssertProblemAsync(await anonymous.GetAsync("/api/v1/audit"), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Theory]
    [InlineData("action=book.deleted", "action")]
    [InlineData("action=BOOK.CREATED", "action")]
    [InlineData("action=", "action")]
    [InlineData("actorId=not-a-guid", null)]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=abc", null)]
    [InlineData("cursor=%25%25%25", "cursor")]
    [InlineData("cursor=Ym9va3M6MQ", "cursor")]
    [InlineData("cursor=YXVkaXQ6MTIzXw", "cursor")]
    public async Task A_bad_filter_limit_or_cursor_is_validation_failed(string query, string? field)
    {
        using var admin = await api.AdminClientAsync();
        var problem = await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/audit?{query}"), HttpStatusCode.BadRequest, "validation-failed");
        var errors = problem.GetProperty("errors");
        if (field is not null)
        {
            Assert.True(errors.TryGetProperty(field, out _), errors.ToString());
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_the_audit_log()
    {
        using var client = api.CreateClient();
        var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var get = document.GetProperty("paths").GetProperty("/api/v1/audit").GetProperty("get");
        var parameters = get.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal(new[] { "action", "actorId", "cursor", "limit" }, parameters.Order());
        Assert.Contains("pool.distribution-started", get.GetProperty("description").GetString());
        Assert.True(get.GetProperty("responses").TryGetProperty("200", out _));
        Assert.True(get.GetProperty("responses").TryGetProperty("403", out _));
    }

    private static void AssertTarget(JsonElement entry, string targetType, Guid targetId, string details)
    {
        Assert.Equal(targetType, entry.GetProperty("targetType").GetString());
        Assert.Equal(targetId, entry.GetProperty("targetId").GetGuid());
        Assert.True(JsonNodeEquals(details, entry.GetProperty("details").GetRawText()), $"details {entry.GetProperty("details").GetRawText()}, expected {details}");
    }

    private static bool JsonNodeEquals(string expected, string actual) =>
        System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(expected), System.Text.Json.Nodes.JsonNode.Parse(actual));

    private static async Task<List<JsonElement>> ListAsync(HttpClient admin, string query)
    {
        var response = await admin.GetAsync($"/api/v1/audit?{query}");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var page = JsonDocument.Parse(text).RootElement;
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    private static async Task<Guid> MyIdAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/api/v1/users/me")).RootElement.GetProperty("id").GetGuid();

    /// <summary>A fresh admin (a registered user the bootstrap admin promotes), so a test reads only its own entries.</summary>
    private async Task<(HttpClient Client, TestUser User)> NewAdminAsync()
    {
        var user = await ApiCalls.RegisterAsync(api.CreateClient());
        using var bootstrap = await api.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await bootstrap.PatchAsync($"/api/v1/users/{user.Id}", CouponCalls.Json("""{"role":"ADMIN"}"""))).StatusCode);
        return (await api.ClientForAsync(user.Email, user.Password), user);
    }
}
