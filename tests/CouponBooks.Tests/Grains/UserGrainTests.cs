using CouponBooks.Storage;
using CouponBooks.Tests.Infrastructure;
using CouponBooks.Users;
using Npgsql;

namespace CouponBooks.Tests.Grains;

[Collection(ClusterCollection.Name)]
public sealed class UserGrainTests(ClusterFixture fixture)
{
    private const string Password = "a-good-long-password";

    private IGrainFactory Grains => fixture.Cluster.GrainFactory;

    [Fact]
    public async Task A_registered_user_comes_back_from_the_database_after_deactivation()
    {
        var (id, email) = await RegisterAsync();

        await CollectAllActivationsAsync();

        var user = await Grains.GetGrain<IUserGrain>(id).GetAsync();
        Assert.NotNull(user);
        Assert.Equal(email, user.Email);
        Assert.Equal(UserRole.User, user.Role);
    }

    [Fact]
    public async Task Lockout_survives_deactivation()
    {
        var (id, _) = await RegisterAsync();
        var grain = Grains.GetGrain<IUserGrain>(id);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(ErrorCode.InvalidCredentials, (await grain.SignInAsync("wrong-password!")).Refusal?.Code);
        }

        await CollectAllActivationsAsync();

        var outcome = await Grains.GetGrain<IUserGrain>(id).SignInAsync(Password);
        Assert.Equal(ErrorCode.AccountLocked, outcome.Refusal?.Code);
        Assert.InRange(outcome.Refusal!.RetryAfter!.Value, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
    }

    [Fact]
    public async Task Refresh_token_reuse_is_detected_after_deactivation()
    {
        var (id, _) = await RegisterAsync();
        var first = (await Grains.GetGrain<IUserGrain>(id).SignInAsync(Password)).Value!;
        var second = (await Grains.GetGrain<IUserGrain>(id).RefreshAsync(first.RefreshToken)).Value!;

        await CollectAllActivationsAsync();

        var grain = Grains.GetGrain<IUserGrain>(id);
        Assert.Equal(ErrorCode.Unauthorized, (await grain.RefreshAsync(first.RefreshToken)).Refusal?.Code);
        Assert.Equal(ErrorCode.Unauthorized, (await grain.RefreshAsync(second.RefreshToken)).Refusal?.Code);
    }

    [Fact]
    public async Task Security_state_is_stored_as_json_under_its_own_state_name()
    {
        var (id, _) = await RegisterAsync();
        Assert.Null((await Grains.GetGrain<IUserGrain>(id).SignInAsync(Password)).Refusal);

        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select convert_from(payloadbinary, 'UTF8') from orleansstorage where graintypestring = @name and payloadbinary is not null", connection);
        command.Parameters.AddWithValue("name", StorageNames.UserSecurity);
        var payloads = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                payloads.Add(reader.GetString(0));
            }
        }

        // Every user's security state is plain System.Text.Json, with no .NET type names in it.
        Assert.NotEmpty(payloads);
        Assert.All(payloads, json =>
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            Assert.Equal(System.Text.Json.JsonValueKind.Array, document.RootElement.GetProperty("RefreshFamilies").ValueKind);
            Assert.DoesNotContain("$type", json);
        });
        Assert.Contains(payloads, json => json.Contains("\"Generation\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_patch_after_another_writer_changed_the_row_applies_to_the_newest_row()
    {
        var (id, _) = await RegisterAsync();
        var grain = Grains.GetGrain<IUserGrain>(id);
        Assert.NotNull(await grain.GetAsync());

        await ExecuteAsync("update users set display_name = 'Changed elsewhere', version = version + 1 where id = @id", id);

        var patched = await grain.PatchAsync(new UserPatch(SetDisplayName: false, DisplayName: null, Role: UserRole.Admin, Disabled: null));
        Assert.Equal(("Changed elsewhere", UserRole.Admin), (patched.Value!.DisplayName, patched.Value.Role));
        Assert.Equal(3, await ScalarAsync<int>("select version from users where id = @id", id));
    }

    [Fact]
    public async Task Of_concurrent_registrations_of_one_email_in_any_case_exactly_one_wins()
    {
        string email = $"race-{Guid.NewGuid():N}@example.com";
        var attempts = Enumerable.Range(0, 12).Select(i => Grains.GetGrain<IUserGrain>(Guid.CreateVersion7())
            .RegisterAsync(new Registration(i % 2 == 0 ? email : email.ToUpperInvariant(), Password, null, UserRole.User)));

        var outcomes = await Task.WhenAll(attempts);

        Assert.Single(outcomes, o => !o.IsRefused);
        Assert.All(outcomes.Where(o => o.IsRefused), o => Assert.Equal(ErrorCode.EmailTaken, o.Refusal!.Code));
        Assert.Equal(1L, await ScalarAsync<long>("select count(*) from users where lower(email) = lower(@id::text)", email));
    }

    [Fact]
    public async Task Disabling_a_user_is_pushed_to_subscribed_observers()
    {
        var (id, _) = await RegisterAsync();
        var observer = new RecordingObserver();
        var reference = fixture.Cluster.Client.CreateObjectReference<IUserAccessObserver>(observer);
        var access = Grains.GetGrain<IUserAccessGrain>(0);
        Assert.DoesNotContain(id, await access.SubscribeAsync(reference));

        await Grains.GetGrain<IUserGrain>(id).PatchAsync(new UserPatch(false, null, null, Disabled: true));

        Assert.Equal((id, true), await observer.Next.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains(id, await access.SubscribeAsync(reference));
        Assert.Equal(ErrorCode.AccountDisabled, (await Grains.GetGrain<IUserGrain>(id).SignInAsync(Password)).Refusal?.Code);
    }

    private async Task<(Guid Id, string Email)> RegisterAsync()
    {
        var id = Guid.CreateVersion7();
        string email = $"grain-{id:N}@example.com";
        var outcome = await Grains.GetGrain<IUserGrain>(id).RegisterAsync(new Registration(email, Password, "Grain Test", UserRole.User));
        Assert.Null(outcome.Refusal);
        return (id, email);
    }

    /// <summary>Deactivates every idle grain and proves no user grain is left in memory, so the next call reads the database.</summary>
    private async Task CollectAllActivationsAsync()
    {
        var management = Grains.GetGrain<IManagementGrain>(0);
        Assert.True(await UserGrainActivationsAsync(management) > 0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(0, await UserGrainActivationsAsync(management));
    }

    private static async Task<int> UserGrainActivationsAsync(IManagementGrain management)
    {
        var statistics = await management.GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.Contains(nameof(CouponBooks.Users) + ".UserGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    private async Task ExecuteAsync(string sql, Guid id)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<T> ScalarAsync<T>(string sql, object id)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", id);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private sealed class RecordingObserver : IUserAccessObserver
    {
        private readonly TaskCompletionSource<(Guid, bool)> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<(Guid, bool)> Next => _next.Task;

        public Task OnAccessChangedAsync(Guid userId, bool disabled)
        {
            _next.TrySetResult((userId, disabled));
            return Task.CompletedTask;
        }
    }
}
