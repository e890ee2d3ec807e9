using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Coupons;

[Collection(ApiCollection.Name)]
public sealed class IdempotencyTests(ApiFixture api)
{
    [Fact]
    public async Task A_repeated_assignment_with_the_same_key_answers_the_first_response_and_assigns_once()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (client, user) = await api.NewUserAsync();
        string key = Guid.NewGuid().ToString();

        var first = await CouponCalls.AssignAsync(client, bookId, user.Id, key);
        var second = await CouponCalls.AssignAsync(client, bookId, user.Id, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task Concurrent_repeats_of_one_key_make_one_change()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 30);
        var (client, user) = await api.NewUserAsync();
        string key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => CouponCalls.AssignAsync(client, bookId, user.Id, key)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task The_same_key_with_another_body_or_path_is_idempotency_key_reused()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (_, first) = await api.NewUserAsync();
        var (_, second) = await api.NewUserAsync();
        string key = Guid.NewGuid().ToString();

        Assert.Equal(HttpStatusCode.Created, (await CouponCalls.AssignAsync(admin, bookId, first.Id, key)).StatusCode);
        await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(admin, bookId, second.Id, key), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(admin, "SOME-CODE-1", "lock", key), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, second.Id));
    }

    [Fact]
    public async Task An_assignment_repeated_with_reordered_members_other_whitespace_and_equal_numbers_replays_the_first_answer()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (_, user) = await api.NewUserAsync();
        string key = Guid.NewGuid().ToString();

        var first = await AssignRawAsync(admin, bookId, key, $$$"""{"userId":"{{{user.Id}}}","note":{"b":[1,2,{"y":true,"x":null}],"a":1.50}}""");
        var second = await AssignRawAsync(admin, bookId, key, $$"""
            {
              "note" : { "a" : 15e-1, "b" : [ 1.0, 2, { "x" : null, "y" : true } ] },
              "userId" : "{{user.Id}}"
            }
            """);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task The_same_key_with_an_extra_member_an_explicit_null_or_no_body_is_idempotency_key_reused()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (client, user) = await api.NewUserAsync();
        string key = Guid.NewGuid().ToString(), emptyKey = Guid.NewGuid().ToString();

        Assert.Equal(HttpStatusCode.Created, (await AssignRawAsync(admin, bookId, key, $$"""{"userId":"{{user.Id}}"}""")).StatusCode);
        await ApiCalls.AssertProblemAsync(await AssignRawAsync(admin, bookId, key, $$"""{"userId":"{{user.Id}}","x":1}"""), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await ApiCalls.AssertProblemAsync(await AssignRawAsync(admin, bookId, key, $$"""{"userId":"{{user.Id}}","x":null}"""), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");

        Assert.Equal(HttpStatusCode.Created, (await AssignRawAsync(client, bookId, emptyKey, "{}")).StatusCode);
        await ApiCalls.AssertProblemAsync(await AssignRawAsync(client, bookId, emptyKey, """{"userId":null}"""), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await ApiCalls.AssertProblemAsync(await AssignRawAsync(client, bookId, emptyKey, null), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(HttpStatusCode.Created, (await AssignRawAsync(client, bookId, emptyKey, " { } ")).StatusCode);
        Assert.Equal(2L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task A_command_without_a_body_hashes_any_body_sent_and_an_empty_body_equals_none()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);
        string key = Guid.NewGuid().ToString(), refusedKey = Guid.NewGuid().ToString();

        var first = await CouponCalls.ActAsync(client, code, "lock", key);
        var empty = await CommandRawAsync(client, code, "lock", key, "");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await empty.Content.ReadAsStringAsync());
        await ApiCalls.AssertProblemAsync(await CommandRawAsync(client, code, "lock", key, "{}"), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");

        // Refused (already LOCKED) and stored with its body; a repeat in another layout replays it, another body does not.
        var refused = await CommandRawAsync(client, code, "lock", refusedKey, """{"a":1,"b":[true]}""");
        var refusedBody = await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.Conflict, "invalid-transition");
        var replayed = await CommandRawAsync(client, code, "lock", refusedKey, """ { "b" : [ true ] , "a" : 1 } """);
        var replayedBody = await ApiCalls.AssertProblemAsync(replayed, HttpStatusCode.Conflict, "invalid-transition");
        Assert.Equal(refusedBody.GetRawText(), replayedBody.GetRawText());
        await ApiCalls.AssertProblemAsync(await CommandRawAsync(client, code, "lock", refusedKey, """{"a":1}"""), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await ApiCalls.AssertProblemAsync(await CommandRawAsync(client, code, "lock", refusedKey, "not json"), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 1", code));
    }

    [Fact]
    public async Task A_key_belongs_to_its_caller()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (a, userA) = await api.NewUserAsync();
        var (b, userB) = await api.NewUserAsync();
        string key = "shared-key";

        var first = await CouponCalls.AssignAsync(a, bookId, null, key);
        var second = await CouponCalls.AssignAsync(b, bookId, null, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(userA.Id, JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("userId").GetGuid());
        Assert.Equal(userB.Id, JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement.GetProperty("userId").GetGuid());
    }

    [Fact]
    public async Task A_repeated_redeem_answers_the_first_success_and_a_refusal_is_replayed_too()
    {
        var (client, _, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);

        // Refused at first (not locked): the repeat answers the same refusal even after the coupon was locked.
        var refused = await CouponCalls.ActAsync(client, code, "redeem", "redeem-early");
        var refusedBody = await ApiCalls.AssertProblemAsync(refused, HttpStatusCode.Conflict, "invalid-transition");
        await CouponCalls.ActOkAsync(client, code, "lock");
        var replayedRefusal = await CouponCalls.ActAsync(client, code, "redeem", "redeem-early");
        var replayedBody = await ApiCalls.AssertProblemAsync(replayedRefusal, HttpStatusCode.Conflict, "invalid-transition");
        Assert.Equal(refusedBody.GetProperty("traceId").GetString(), replayedBody.GetProperty("traceId").GetString());

        var redeemed = await CouponCalls.ActAsync(client, code, "redeem", "redeem-now");
        var again = await CouponCalls.ActAsync(client, code, "REDEEM".ToLowerInvariant(), "redeem-now");
        Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(await redeemed.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 4", code));
    }

    [Fact]
    public async Task A_stored_key_answers_after_its_grain_was_deactivated()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var (client, user) = await api.NewUserAsync();
        var first = await CouponCalls.AssignAsync(client, bookId, null, "persisted-key");

        await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IGrainFactory>(api.Silo.Services)
            .GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var second = await CouponCalls.AssignAsync(client, bookId, null, "persisted-key");
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id = $2", bookId, user.Id));
    }

    [Fact]
    public async Task A_key_stored_24_hours_ago_gives_way_to_a_new_command_which_its_repeats_then_answer()
    {
        var (client, user, _, code) = await CouponCalls.OwnedCouponAsync(api, 1);
        Assert.Equal(HttpStatusCode.OK, (await CouponCalls.ActAsync(client, code, "lock", "day-old-key")).StatusCode);
        // Older than 24 hours, and not swept yet: the key's next use is a new command, stored in the old one's place.
        await TestDb.ExecuteAsync(api.ConnectionString, "update idempotency_keys set created_at = now() - interval '24 hours 1 second' where caller_id = $1 and key = 'day-old-key'", user.Id);
        await DeactivateAllAsync();

        var unlocked = await CouponCalls.ActAsync(client, code, "unlock", "day-old-key");
        await DeactivateAllAsync();
        var repeat = await CouponCalls.ActAsync(client, code, "unlock", "day-old-key");

        Assert.Equal(HttpStatusCode.OK, unlocked.StatusCode);
        Assert.Equal((HttpStatusCode.OK, await unlocked.Content.ReadAsStringAsync()), (repeat.StatusCode, await repeat.Content.ReadAsStringAsync()));
        Assert.Equal($"/api/v1/coupons/{code}/unlock".ToUpperInvariant(), await TestDb.ScalarAsync<string>(api.ConnectionString,
            "select path from idempotency_keys where caller_id = $1 and key = 'day-old-key' and created_at > now() - interval '1 minute'", user.Id));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 2", code));
    }

    [Fact]
    public async Task A_repeat_after_a_failure_that_hid_a_commit_answers_the_stored_response_and_changes_nothing_more()
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 2);
        var (client, user) = await api.NewUserAsync();
        string model = (await CouponCalls.AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
        string code = (await CouponCalls.AssignOkAsync(client, bookId)).GetProperty("code").GetString()!;
        // A keyed lock of the other coupon: its stored key is the pattern of the one the lost commit below stores.
        Assert.Equal(HttpStatusCode.OK, (await CouponCalls.ActAsync(client, model, "lock", key: "model-key")).StatusCode);

        // The keyed lock's write fails (as when the connection breaks): 503, and nothing is committed here...
        var failed = await TestDb.WhileCouponTriggerAsync(api.ConnectionString, code, "raise exception 'lost' using errcode = '53400';",
            () => CouponCalls.ActAsync(client, code, "lock", key: "lost-key"));

        await ApiCalls.AssertProblemAsync(failed, HttpStatusCode.ServiceUnavailable, "service-unavailable");

        // ...but as if it had committed and only the answer was lost: the lock, its history row and its key are stored.
        await TestDb.ExecuteAsync(api.ConnectionString,
            "update coupons set state = 2, locked_until = now() + interval '300 seconds', version = version + 1 where code = $1", code);
        await TestDb.ExecuteAsync(api.ConnectionString,
            "insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id) values ($1, now(), 1, 1, 2, $2, $2)", code, user.Id);
        await TestDb.ExecuteAsync(api.ConnectionString,
            "insert into idempotency_keys (caller_id, key, path, request_hash, outcome, trace_id) " +
            "select caller_id, 'lost-key', replace(path, $1, $2), request_hash, replace(outcome::text, $1, $2)::jsonb, trace_id " +
            "from idempotency_keys where caller_id = $3 and key = 'model-key'", model, code, user.Id);

        // The repeat answers the stored response: it does not lock again (which would be refused as LOCKED).
        var again = await CouponCalls.ActAsync(client, code, "lock", key: "lost-key");
        string body = await again.Content.ReadAsStringAsync();
        Assert.True(again.StatusCode == HttpStatusCode.OK, body);
        var replayed = JsonDocument.Parse(body).RootElement;
        Assert.Equal((code, "LOCKED"), (replayed.GetProperty("code").GetString(), replayed.GetProperty("state").GetString()));
        Assert.Equal(1L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupon_history where code = $1 and action = 1", code));
    }

    [Theory]
    [InlineData("x256")]
    [InlineData("x1000")]
    public async Task A_key_of_a_bad_length_is_validation_failed(string key)
    {
        using var admin = await api.AdminClientAsync();
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 1);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/books/{bookId}/assignments");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', int.Parse(key[1..])));

        await ApiCalls.AssertProblemAsync(await admin.SendAsync(request), HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from coupons where book_id = $1 and user_id is not null", bookId));
    }

    /// <summary>Drops idle activations (the keys' among them), so the next request reads its key from the database.</summary>
    private Task DeactivateAllAsync() =>
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IGrainFactory>(api.Silo.Services)
            .GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    private static Task<HttpResponseMessage> AssignRawAsync(HttpClient client, Guid bookId, string key, string? json) =>
        SendRawAsync(client, $"/api/v1/books/{bookId}/assignments", key, json);

    private static Task<HttpResponseMessage> CommandRawAsync(HttpClient client, string code, string verb, string key, string? json) =>
        SendRawAsync(client, $"/api/v1/coupons/{code}/{verb}", key, json);

    private static Task<HttpResponseMessage> SendRawAsync(HttpClient client, string path, string key, string? json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = json is null ? null : CouponCalls.Json(json) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }
}
