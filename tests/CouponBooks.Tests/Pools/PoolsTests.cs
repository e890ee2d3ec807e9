using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Pools;

[Collection(ApiCollection.Name)]
public sealed class PoolsTests(ApiFixture api)
{
    [Fact]
    public async Task A_pool_is_created_listed_fetched_and_deleted_leaving_given_coupons_alone()
    {
        using var admin = await api.AdminClientAsync();
        var created = await admin.PostAsJsonAsync("/api/v1/pools", new { name = "VIPs", description = "best customers" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var pool = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var poolId = pool.GetProperty("id").GetGuid();
        Assert.Equal(("VIPs", "best customers", 0L), (pool.GetProperty("name").GetString(), pool.GetProperty("description").GetString(), pool.GetProperty("memberCount").GetInt64()));

        var (_, member) = await api.NewUserAsync();
        await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members", new { userIds = new[] { member.Id } });
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 3);
        var job = await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal" }));
        Assert.Equal("succeeded", job.GetProperty("state").GetString());

        var listed = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/pools?limit=1000")).RootElement.GetProperty("items").EnumerateArray()
            .Single(p => p.GetProperty("id").GetGuid() == poolId);
        Assert.Equal(1, listed.GetProperty("memberCount").GetInt64());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/pools/{poolId}")).StatusCode);
        await ApiCalls.AssertProblemAsync(await admin.GetAsync($"/api/v1/pools/{poolId}"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.DeleteAsync($"/api/v1/pools/{poolId}"), HttpStatusCode.NotFound, "not-found");
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, member.Id));
    }

    [Fact]
    public async Task Adding_members_by_id_and_email_counts_added_already_and_unknown()
    {
        using var admin = await api.AdminClientAsync();
        var poolId = await CreatePoolAsync(admin);
        var (_, a) = await api.NewUserAsync();
        var (_, b) = await api.NewUserAsync();
        var nobody = Guid.NewGuid();

        var first = await AddAsync(admin, poolId, new { userIds = new[] { a.Id, nobody }, emails = new[] { b.Email.ToUpperInvariant(), "ghost@example.com" } });
        Assert.Equal(2, first.GetProperty("added").GetInt64());
        Assert.Equal(0, first.GetProperty("alreadyMembers").GetInt64());
        Assert.Equal(new[] { nobody.ToString(), "ghost@example.com" }.Order(), first.GetProperty("unknown").EnumerateArray().Select(u => u.GetString()!).Order());

        var second = await AddAsync(admin, poolId, new { userIds = new[] { a.Id }, emails = new[] { b.Email } });
        Assert.Equal((0L, 2L), (second.GetProperty("added").GetInt64(), second.GetProperty("alreadyMembers").GetInt64()));
        Assert.Empty(second.GetProperty("unknown").EnumerateArray());

        var members = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/pools/{poolId}/members?limit=1")).RootElement;
        Assert.Single(members.GetProperty("items").EnumerateArray());
        var rest = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/pools/{poolId}/members?limit=1&cursor={members.GetProperty("nextCursor").GetString()}")).RootElement;
        var ids = members.GetProperty("items").EnumerateArray().Concat(rest.GetProperty("items").EnumerateArray()).Select(u => u.GetProperty("id").GetGuid());
        Assert.Equal(new[] { a.Id, b.Id }.Order(), ids.Order());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/pools/{poolId}/members/{a.Id}")).StatusCode);
        await ApiCalls.AssertProblemAsync(await admin.DeleteAsync($"/api/v1/pools/{poolId}/members/{a.Id}"), HttpStatusCode.NotFound, "not-found");
        Assert.Equal(1, JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/pools/{poolId}")).RootElement.GetProperty("memberCount").GetInt64());
    }

    [Fact]
    public async Task More_than_ten_thousand_members_in_one_request_is_validation_failed()
    {
        using var admin = await api.AdminClientAsync();
        var poolId = await CreatePoolAsync(admin);
        var response = await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members",
            new { userIds = Enumerable.Range(0, 10_000).Select(_ => Guid.NewGuid()), emails = new[] { "one-too-many@example.com" } });
        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task Equal_distribution_gives_each_member_per_user_within_the_limits()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 100, new { name = "Limited", maxAssignmentsPerUser = 2, maxTotalAssignments = 9 });
        var poolId = await CreatePoolAsync(admin);
        var users = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => api.NewUserAsync()));
        await AddAsync(admin, poolId, new { userIds = users.Select(u => u.User.Id) });
        // One member holds a coupon already: it may get only one more.
        await CouponCalls.AssignOkAsync(users[0].Client, bookId);

        var job = await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal", perUser = 3 }));

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal("distribution", job.GetProperty("kind").GetString());
        var result = job.GetProperty("result");
        Assert.Equal(15, result.GetProperty("requested").GetInt64());
        Assert.Equal(8, result.GetProperty("assigned").GetInt64());            // 9 in all, one given before
        Assert.Equal(6, result.GetProperty("skippedUserLimit").GetInt64());    // 5 members x 1, and the holder 1 more
        Assert.Equal(1, result.GetProperty("skippedBookLimit").GetInt64());
        Assert.False(result.GetProperty("exhausted").GetBoolean());
        Assert.Equal(JsonValueKind.Number, result.GetProperty("seed").ValueKind);
        Assert.Equal(9L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString,
            "select count(*) from (select user_id from coupons where book_id = $1 and user_id is not null group by user_id having count(*) > 2) x", bookId));
        Assert.Equal(8L, await TestDb.ScalarAsync<long>(api.ConnectionString,
            "select count(*) from coupon_history h join coupons c on c.code = h.code where c.book_id = $1 and h.action = 0 and h.job_id is not null", bookId));
    }

    [Fact]
    public async Task Random_distribution_with_a_seed_repeats_its_draw_in_a_dry_run_and_stops_when_codes_run_out()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 10);
        var poolId = await CreatePoolAsync(admin);
        var users = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => api.NewUserAsync()));
        await AddAsync(admin, poolId, new { userIds = users.Select(u => u.User.Id) });

        var dry = await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions?dryRun=true", new { bookId, mode = "random", total = 25, seed = 42 });
        Assert.Equal(HttpStatusCode.OK, dry.StatusCode);
        var planned = JsonDocument.Parse(await dry.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((25L, 10L, true, 42L), (planned.GetProperty("requested").GetInt64(), planned.GetProperty("assigned").GetInt64(),
            planned.GetProperty("exhausted").GetBoolean(), planned.GetProperty("seed").GetInt64()));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));

        var job = await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "random", total = 25, seed = 42 }));
        var result = job.GetProperty("result");
        Assert.Equal((10L, true, 42L), (result.GetProperty("assigned").GetInt64(), result.GetProperty("exhausted").GetBoolean(), result.GetProperty("seed").GetInt64()));
        Assert.Equal(10L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
    }

    [Theory]
    [InlineData("random", null)]
    [InlineData("random", 1)]
    [InlineData("equal", 1)]
    public async Task A_distribution_to_an_empty_pool_gives_nothing_and_skips_nothing(string mode, int? perUserLimit)
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5, new { name = "Empty pool", maxAssignmentsPerUser = perUserLimit });
        var poolId = await CreatePoolAsync(admin);
        object body = mode == "random" ? new { bookId, mode, total = 5, seed = 7 } : new { bookId, mode, seed = 7 };

        var dry = await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions?dryRun=true", body);
        var job = await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", body));

        long requested = mode == "random" ? 5 : 0;
        string expected = $$"""{"requested":{{requested}},"assigned":0,"skippedUserLimit":0,"skippedBookLimit":0,"exhausted":false,"seed":7}""";
        Assert.Equal((HttpStatusCode.OK, expected), (dry.StatusCode, await dry.Content.ReadAsStringAsync()));
        Assert.Equal(expected, job.GetProperty("result").GetRawText());
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
    }

    [Fact]
    public async Task A_distribution_interrupted_by_a_database_fault_resumes_by_itself_and_gives_each_member_once()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 10);
        var poolId = await CreatePoolAsync(admin);
        var users = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => api.NewUserAsync()));
        await AddAsync(admin, poolId, new { userIds = users.Select(u => u.User.Id) });
        string sequence = $"fault_{Guid.NewGuid():N}";
        await TestDb.ExecuteAsync(api.ConnectionString, $"create sequence {sequence}");

        // The first write of the book's coupons fails as when the server is briefly out of resources; later ones pass.
        var job = await TestDb.WhileTriggerAsync(api.ConnectionString, "coupons", $"new.book_id = '{bookId}'",
            $"if nextval('{sequence}') = 1 then raise exception 'briefly unavailable' using errcode = '53400'; end if; return new;",
            async () => await BookCalls.WaitForJobAsync(admin, await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal" })));

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(3L, job.GetProperty("result").GetProperty("assigned").GetInt64());
        Assert.Equal(users.Select(u => (u.User.Id, 1L)).OrderBy(u => u.Id),
            (await TestDb.StringsAsync(api.ConnectionString, "select user_id::text || ' ' || count(*) from coupons where book_id = $1 and user_id is not null group by user_id", bookId))
                .Select(row => (Guid.Parse(row.Split(' ')[0]), long.Parse(row.Split(' ')[1]))).OrderBy(u => u.Item1));
        Assert.True(await TestDb.ScalarAsync<long>(api.ConnectionString, $"select last_value from {sequence}") >= 2, "the fault struck");
    }

    [Fact]
    public async Task An_idempotency_key_makes_a_retried_distribution_answer_its_first_job()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 20);
        var poolId = await CreatePoolAsync(admin);
        var (_, user) = await api.NewUserAsync();
        await AddAsync(admin, poolId, new { userIds = new[] { user.Id } });

        async Task<HttpResponseMessage> Send(object body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/pools/{poolId}/distributions") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", "distribute-once");
            return await admin.SendAsync(request);
        }

        var first = await Send(new { bookId, mode = "equal", perUser = 2 });
        var job = await BookCalls.WaitForJobAsync(admin, first);
        var second = await Send(new { bookId, mode = "equal", perUser = 2 });

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
        await ApiCalls.AssertProblemAsync(await Send(new { bookId, mode = "equal", perUser = 1 }), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");

        // The first answer stands whatever changed since: the book's window closed, then the pool deleted.
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/books/{bookId}", CouponCalls.Json("""{"validUntil":"2020-01-01T00:00:00Z"}"""))).StatusCode);
        var afterClosing = await Send(new { bookId, mode = "equal", perUser = 2 });
        Assert.Equal((HttpStatusCode.Accepted, first.Headers.Location), (afterClosing.StatusCode, afterClosing.Headers.Location));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/pools/{poolId}")).StatusCode);
        var afterDeleting = await Send(new { bookId, mode = "equal", perUser = 2 });
        Assert.Equal((HttpStatusCode.Accepted, first.Headers.Location), (afterDeleting.StatusCode, afterDeleting.Headers.Location));
        await ApiCalls.AssertProblemAsync(await Send(new { bookId, mode = "equal", perUser = 1 }), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task A_distribution_retried_with_reordered_members_answers_its_first_job_and_an_extra_member_is_idempotency_key_reused()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var poolId = await CreatePoolAsync(admin);
        var (_, user) = await api.NewUserAsync();
        await AddAsync(admin, poolId, new { userIds = new[] { user.Id } });
        string key = $"distribute-{Guid.NewGuid():N}";

        async Task<HttpResponseMessage> Send(string json)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/pools/{poolId}/distributions") { Content = CouponCalls.Json(json) };
            request.Headers.Add("Idempotency-Key", key);
            return await admin.SendAsync(request);
        }

        var first = await Send($$"""{"bookId":"{{bookId}}","mode":"equal","perUser":1}""");
        var job = await BookCalls.WaitForJobAsync(admin, first);
        var reordered = await Send($$"""
            {
              "perUser" : 1,
              "mode": "equal", "bookId": "{{bookId}}" }
            """);

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Accepted, reordered.StatusCode);
        Assert.Equal(first.Headers.Location, reordered.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await reordered.Content.ReadAsStringAsync());
        await ApiCalls.AssertProblemAsync(await Send($$"""{"bookId":"{{bookId}}","mode":"equal","perUser":1,"seed":null}"""), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await ApiCalls.AssertProblemAsync(await Send($$"""{"bookId":"{{bookId}}","mode":"equal","perUser":1,"note":"x"}"""), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task Distribution_and_single_assignments_at_once_never_pass_a_limit()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 300, new { name = "Contended", maxAssignmentsPerUser = 1, maxTotalAssignments = 40 });
        var poolId = await CreatePoolAsync(admin);
        var users = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => api.NewUserAsync()));
        await AddAsync(admin, poolId, new { userIds = users.Select(u => u.User.Id) });

        var distribution = admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal" });
        var singles = Task.WhenAll(users.Select(u => CouponCalls.AssignAsync(u.Client, bookId)));
        var outsiders = Task.WhenAll(Enumerable.Range(0, 20).Select(async _ => CouponCalls.AssignAsync((await api.NewUserAsync()).Client, bookId)));
        var job = await BookCalls.WaitForJobAsync(admin, await distribution);
        await singles;
        await Task.WhenAll(await outsiders);

        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(40L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString,
            "select count(*) from (select user_id from coupons where book_id = $1 and user_id is not null group by user_id having count(*) > 1) x", bookId));
    }

    [Theory]
    [InlineData("""{"mode":"equal"}""", "bookId")]
    [InlineData("""{"bookId":"00000000-0000-0000-0000-000000000001","mode":"fair"}""", "mode")]
    [InlineData("""{"bookId":"00000000-0000-0000-0000-000000000001","mode":"equal","perUser":0}""", "perUser")]
    [InlineData("""{"bookId":"00000000-0000-0000-0000-000000000001","mode":"random"}""", "total")]
    [InlineData("""{"bookId":"00000000-0000-0000-0000-000000000001","mode":"random","total":10000001}""", "total")]
    public async Task A_bad_distribution_request_is_validation_failed(string json, string field)
    {
        using var admin = await api.AdminClientAsync();
        var poolId = await CreatePoolAsync(admin);
        var problem = await ApiCalls.AssertProblemAsync(
            await admin.PostAsync($"/api/v1/pools/{poolId}/distributions", CouponCalls.Json(json)), HttpStatusCode.BadRequest, "validation-failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task A_book_outside_its_window_refuses_the_distribution()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 3, new { name = "Over", validUntil = "2020-01-01T00:00:00Z" });
        var poolId = await CreatePoolAsync(admin);
        await ApiCalls.AssertProblemAsync(await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId, mode = "equal" }), HttpStatusCode.Conflict, "book-not-active");
        await ApiCalls.AssertProblemAsync(await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions?dryRun=true", new { bookId, mode = "equal" }), HttpStatusCode.Conflict, "book-not-active");
        await ApiCalls.AssertProblemAsync(await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/distributions", new { bookId = Guid.NewGuid(), mode = "equal" }), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await admin.PostAsJsonAsync($"/api/v1/pools/{Guid.NewGuid()}/distributions", new { bookId, mode = "equal" }), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task A_user_cannot_touch_pools()
    {
        var (client, _) = await api.NewUserAsync();
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/pools"), HttpStatusCode.Forbidden, "forbidden");
        await ApiCalls.AssertProblemAsync(await client.PostAsJsonAsync("/api/v1/pools", new { name = "mine" }), HttpStatusCode.Forbidden, "forbidden");
    }

    private static async Task<Guid> CreatePoolAsync(HttpClient admin)
    {
        var response = await admin.PostAsJsonAsync("/api/v1/pools", new { name = $"Pool {Guid.NewGuid():N}" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
    }

    private static async Task<JsonElement> AddAsync(HttpClient admin, Guid poolId, object body)
    {
        var response = await admin.PostAsJsonAsync($"/api/v1/pools/{poolId}/members", body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }
}
