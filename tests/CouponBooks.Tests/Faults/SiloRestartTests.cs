using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CouponBooks.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Faults;

/// <summary>Every silo killed and started again: all state comes back from PostgreSQL.</summary>
[Collection(FaultsCollection.Name)]
public sealed class SiloRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task After_every_silo_is_killed_and_started_again_books_coupons_users_pools_and_keys_are_as_they_were()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"silo-restart-{Guid.NewGuid():N}";
        SiloChildProcess[] silos = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => SiloChildProcess.StartAsync(connectionString, clusterId, FaultSetup.AdminSettings())));
        try
        {
            await using var api = new ApiFixture.ApiFactory(FaultSetup.ApiSettings(connectionString, clusterId));
            using var admin = await FaultSetup.AdminAsync(api);

            // Users: one plain, one to be disabled, one to be made an admin.
            var u1 = await ApiCalls.RegisterAsync(api.CreateClient());
            var u2 = await ApiCalls.RegisterAsync(api.CreateClient());
            var u3 = await ApiCalls.RegisterAsync(api.CreateClient());
            var u1Tokens = await ApiCalls.LoginAsync(api.CreateClient(), u1.Email, u1.Password);
            using var c1 = Bearer(api.CreateClient(), u1Tokens.AccessToken);
            using var c2 = await ApiCalls.SignedInAsync(api, u2.Email, u2.Password);
            using var c3 = await ApiCalls.SignedInAsync(api, u3.Email, u3.Password);

            // A book at both of its limits, with coupons in every state.
            var (book, _) = await CouponCalls.BookWithCodesAsync(admin, 10,
                new { name = "Restarted", maxAssignmentsPerUser = 2, maxTotalAssignments = 3, maxRedemptionsPerCoupon = 2, lockTtlSeconds = 3600 });
            Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/books/{book}", CouponCalls.Json("""{"description":"patched before the restart"}"""))).StatusCode);
            string locked = Code(await CouponCalls.AssignOkAsync(c1, book));
            string onceRedeemed = Code(await CouponCalls.AssignOkAsync(c1, book));
            string redeemed = Code(await CouponCalls.AssignOkAsync(c3, book));
            var keyedLock = await CouponCalls.ActAsync(c1, locked, "lock", key: "restart-lock");
            Assert.Equal(HttpStatusCode.OK, keyedLock.StatusCode);
            string keyedLockBody = await keyedLock.Content.ReadAsStringAsync();
            await CouponCalls.ActOkAsync(c1, onceRedeemed, "lock");
            await CouponCalls.ActOkAsync(c1, onceRedeemed, "redeem");
            for (int i = 0; i < 2; i++)
            {
                await CouponCalls.ActOkAsync(c3, redeemed, "lock");
                await CouponCalls.ActOkAsync(c3, redeemed, "redeem");
            }

            Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/users/{u2.Id}", CouponCalls.Json("""{"disabled":true}"""))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/users/{u3.Id}", CouponCalls.Json("""{"role":"ADMIN","displayName":"Promoted"}"""))).StatusCode);

            var poolResponse = await admin.PostAsJsonAsync("/api/v1/pools", new { name = "Restart pool", description = "three members" });
            Assert.Equal(HttpStatusCode.Created, poolResponse.StatusCode);
            var pool = JsonDocument.Parse(await poolResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/pools/{pool}/members", new { userIds = new[] { u1.Id, u2.Id }, emails = new[] { u3.Email.ToUpperInvariant() } })).StatusCode);

            string[] reads =
            [
                $"/api/v1/books/{book}", $"/api/v1/books/{book}/coupons", $"/api/v1/coupons/{locked}", $"/api/v1/coupons/{onceRedeemed}",
                $"/api/v1/coupons/{redeemed}", $"/api/v1/coupons/{locked}/history", $"/api/v1/coupons/{onceRedeemed}/history",
                $"/api/v1/coupons/{redeemed}/history", $"/api/v1/users/{u1.Id}", $"/api/v1/users/{u2.Id}", $"/api/v1/users/{u3.Id}",
                $"/api/v1/users/{u1.Id}/coupons", $"/api/v1/pools/{pool}", $"/api/v1/pools/{pool}/members",
            ];
            var before = new Dictionary<string, JsonNode?>();
            foreach (string path in reads)
            {
                before[path] = await ReadAsync(admin, path);
            }

            // Kill every silo, then start them again on their ports.
            foreach (var silo in silos)
            {
                silo.Kill();
            }

            var restart = Stopwatch.StartNew();
            var restarting = Task.WhenAll(silos.Select(s => s.StartAgainAsync()));
            try
            {
                await restarting;
            }
            catch (Exception) when (restarting.Exception is { } failures)
            {
                // Every silo's failure, not just the first: one silo that cannot start keeps the other from joining.
                Assert.Fail($"restarting the silos failed ({failures.InnerExceptions.Count} of {silos.Length}):\n"
                    + string.Join("\n---\n", failures.InnerExceptions.Select(e => e.Message)) + "\n" + await ClusterStateAsync(connectionString, clusterId, silos));
            }

            var started = restart.Elapsed;
            output.WriteLine($"silos restarted on silo/gateway ports {string.Join(", ", silos.Select(s => $"{s.SiloPort}/{s.GatewayPort}"))}");
            var serving = await ServingAgainAsync(admin, $"/api/v1/books/{book}", TimeSpan.FromSeconds(60), () => ClusterStateAsync(connectionString, clusterId, silos));
            output.WriteLine($"restart of every silo: silos active again after {FaultSetup.Seconds(started)}, the Api serving again after {FaultSetup.Seconds(restart.Elapsed)} ({serving} requests answered 503 meanwhile)");

            foreach (string path in reads)
            {
                var after = await ReadAsync(admin, path);
                Assert.True(JsonNode.DeepEquals(before[path], after), $"{path} changed across the restart:\nbefore {before[path]}\nafter  {after}");
            }

            // Limits are counted from the database: u1 holds two, the book gave out three.
            await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(c1, book), HttpStatusCode.Conflict, "book-limit-reached");
            Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/books/{book}", CouponCalls.Json("""{"maxTotalAssignments":10}"""))).StatusCode);
            await ApiCalls.AssertProblemAsync(await CouponCalls.AssignAsync(c1, book), HttpStatusCode.Conflict, "per-user-limit-reached");

            // Coupon states: the lock held, the redemption counts held, a finally redeemed coupon stays so.
            var replay = await CouponCalls.ActAsync(c1, locked, "lock", key: "restart-lock");
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(keyedLockBody), JsonNode.Parse(await replay.Content.ReadAsStringAsync())), "the idempotent replay changed");
            Assert.Equal(1, (await CouponCalls.ActOkAsync(c1, locked, "redeem")).GetProperty("redemptionCount").GetInt32());
            await CouponCalls.ActOkAsync(c1, onceRedeemed, "lock");
            var final = await CouponCalls.ActOkAsync(c1, onceRedeemed, "redeem");
            Assert.Equal(("REDEEMED", 2), (final.GetProperty("state").GetString(), final.GetProperty("redemptionCount").GetInt32()));
            await ApiCalls.AssertProblemAsync(await CouponCalls.ActAsync(c3, redeemed, "lock"), HttpStatusCode.Conflict, "invalid-transition");

            // Users: the disabled one stays disabled, the promoted one is an admin, refresh tokens still rotate.
            await ApiCalls.AssertProblemAsync(await c2.GetAsync("/api/v1/users/me"), HttpStatusCode.Unauthorized, "unauthorized");
            await ApiCalls.AssertProblemAsync(await api.CreateClient().PostAsJsonAsync("/api/v1/auth/login", new { email = u2.Email, password = u2.Password }), HttpStatusCode.Forbidden, "account-disabled");
            using var promoted = await ApiCalls.SignedInAsync(api, u3.Email, u3.Password);
            Assert.Equal(HttpStatusCode.OK, (await promoted.GetAsync($"/api/v1/users?email={Uri.EscapeDataString(u1.Email)}")).StatusCode);
            using var anonymous = api.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = u1Tokens.RefreshToken })).StatusCode);
            await ApiCalls.AssertProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = u1Tokens.RefreshToken }), HttpStatusCode.Unauthorized, "unauthorized");

            // Pools: the members are still there.
            var members = (await ReadAsync(admin, $"/api/v1/pools/{pool}/members"))!["items"]!.AsArray().Select(m => m!["id"]!.GetValue<Guid>()).ToHashSet();
            Assert.Equal(new HashSet<Guid> { u1.Id, u2.Id, u3.Id }, members);
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_silo_started_alone_after_every_silo_was_killed_joins_once_the_killed_rows_are_stale()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"silo-alone-{Guid.NewGuid():N}";
        SiloChildProcess[] silos = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => SiloChildProcess.StartAsync(connectionString, clusterId, FaultSetup.AdminSettings())));
        try
        {
            foreach (var silo in silos)
            {
                silo.Kill();
            }

            // The other silo's row still says Active: the one started waits for it until its I-am-alive time is three
            // periods old (10 s each: active about 46 s after the kill here; with Orleans' 30 s it took 106 s).
            var restart = Stopwatch.StartNew();
            try
            {
                await silos[0].StartAgainAsync(TimeSpan.FromSeconds(75));
            }
            catch (TimeoutException timeout)
            {
                Assert.Fail($"{timeout.Message}\n{await ClusterStateAsync(connectionString, clusterId, silos)}");
            }

            output.WriteLine($"the silo started alone was active {FaultSetup.Seconds(restart.Elapsed)} after the kill");
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    private static async Task<JsonNode?> ReadAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text);
    }

    /// <summary>
    /// Asks until the Api answers 200 for <paramref name="path"/> and serves grains of every directory partition again;
    /// answers how many 503s came first. Anything else fails the test, and a timeout fails it with
    /// <paramref name="describe"/>'s account of the cluster.
    /// </summary>
    /// <remarks>
    /// One grain answering is not enough: until a new silo's view drops the killed incarnation on its port, a grain whose
    /// directory entry that incarnation owned answers 503 ("the target silo is no longer active"). So each round also
    /// asks for users that do not exist (each a new grain, spread over the directory); the cluster serves again once a
    /// whole round answers with no 503.
    /// </remarks>
    private static async Task<int> ServingAgainAsync(HttpClient client, string path, TimeSpan within, Func<Task<string>> describe)
    {
        const int Spread = 16;
        var deadline = DateTime.UtcNow + within;
        for (int unavailable = 0; ;)
        {
            var round = await Task.WhenAll(Enumerable.Range(0, Spread).Select(_ => client.GetAsync($"/api/v1/users/{Guid.NewGuid()}")).Prepend(client.GetAsync(path)));
            for (int i = 0; i < round.Length; i++)
            {
                if (round[i].StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    await ApiCalls.AssertProblemAsync(round[i], HttpStatusCode.ServiceUnavailable, "service-unavailable");
                }
                else if (i == 0)
                {
                    Assert.Equal(HttpStatusCode.OK, round[i].StatusCode);
                }
                else
                {
                    await ApiCalls.AssertProblemAsync(round[i], HttpStatusCode.NotFound, "not-found");
                }
            }

            var refused = round.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
            if (refused.Count == 0)
            {
                return unavailable;
            }

            unavailable += refused.Count;
            if (DateTime.UtcNow >= deadline)
            {
                var problem = JsonDocument.Parse(await refused[0].Content.ReadAsStringAsync()).RootElement;
                Assert.Fail($"the Api did not serve again within {within}; last answer: {problem.GetProperty("detail").GetString()}\n{await describe()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The membership table's rows of the cluster and each silo process's ports, state and last lines of output.</summary>
    private static async Task<string> ClusterStateAsync(string connectionString, string clusterId, IEnumerable<SiloChildProcess> silos)
    {
        var text = new System.Text.StringBuilder("membership (address, port, generation, status, gateway port, start, i-am-alive):\n");
        await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(
                "select address, port, generation, status, proxyport, starttime, iamalivetime from orleansmembershiptable where deploymentid = $1 order by starttime", connection);
            command.Parameters.AddWithValue(clusterId);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                text.AppendLine($"  {reader.GetValue(0)} {reader.GetValue(1)} {reader.GetValue(2)} {reader.GetValue(3)} {reader.GetValue(4)} {reader.GetValue(5):O} {reader.GetValue(6):O}");
            }
        }

        foreach (var silo in silos)
        {
            text.AppendLine($"silo {silo.SiloPort}/{silo.GatewayPort}, process {(silo.ProcessId is { } id ? id.ToString() : "not running")}, last output:");
            text.AppendLine(silo.RecentOutput);
        }

        return text.ToString();
    }

    private static HttpClient Bearer(HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string Code(JsonElement coupon) => coupon.GetProperty("code").GetString()!;
}
