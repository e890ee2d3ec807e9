using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;
using Npgsql;

namespace CouponBooks.Tests.Faults;

/// <summary>
/// A keyed assignment whose write is held up past the grain call timeout (a database stall): the call times out while
/// the change is still on its way, and a repeat of the key must not assign a second coupon meanwhile.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class KeyedTimeoutTests
{
    [Fact]
    public async Task A_repeat_of_a_keyed_assignment_that_timed_out_waits_for_the_first_instead_of_assigning_again()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"keyed-timeout-{Guid.NewGuid():N}";
        var siloSettings = new Dictionary<string, string>(FaultSetup.AdminSettings()) { ["Orleans:ResponseTimeout"] = "00:00:02" };
        await using var silo = await SiloProcess.StartAsync(connectionString, clusterId, siloSettings);
        var apiSettings = FaultSetup.ApiSettings(connectionString, clusterId);
        apiSettings["Orleans:ResponseTimeout"] = "00:00:02";
        await using var api = new ApiFixture.ApiFactory(apiSettings);
        using var admin = await FaultSetup.AdminAsync(api);
        var (bookId, _) = await CouponCalls.BookWithCodesAsync(admin, 5);
        var user = await ApiCalls.RegisterAsync(api.CreateClient());
        using var client = await ApiCalls.SignedInAsync(api, user.Email, user.Password);

        // Every coupon write waits while this transaction holds the table of stats deltas (each write adds to it).
        HttpResponseMessage first, repeat;
        await using (var holder = new NpgsqlConnection(connectionString))
        {
            await holder.OpenAsync();
            await using var hold = await holder.BeginTransactionAsync();
            await using (var lockTable = new NpgsqlCommand("lock table book_stats_deltas in exclusive mode", holder, hold))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            first = await CouponCalls.AssignAsync(client, bookId, null, "held-key");
            repeat = await CouponCalls.AssignAsync(client, bookId, null, "held-key");
            await hold.CommitAsync();
        }

        // Once the first write is through, the key answers with it.
        HttpResponseMessage settled;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(200);
            settled = await CouponCalls.AssignAsync(client, bookId, null, "held-key");
        }
        while (settled.StatusCode != HttpStatusCode.Created && DateTime.UtcNow < deadline);

        await ApiCalls.AssertProblemAsync(first, HttpStatusCode.ServiceUnavailable, "service-unavailable");
        await ApiCalls.AssertProblemAsync(repeat, HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Equal(HttpStatusCode.Created, settled.StatusCode);
        var given = await TestDb.StringsAsync(connectionString, "select code from coupons where book_id = $1 and user_id is not null", bookId);
        Assert.Equal([JsonDocument.Parse(await settled.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString()!], given);
    }
}
