using System.Net.Http.Headers;
using CouponBooks.Api.Http;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CouponBooks.Tests.Hardening;

/// <summary>
/// The Api on a real Kestrel port in front of its own silo, with tiny limits so tests can reach them exactly, an
/// allowed CORS origin, and forwarded headers on (as behind a proxy) so a test speaks for any client address with
/// <c>X-Forwarded-For</c>. The coupon-miss counter runs on a clock the tests move.
/// </summary>
public sealed class HardeningFixture : IAsyncLifetime
{
    public const int SignInLimit = 3;
    public const int CommandLimit = 3;
    public const int MissLimit = 3;
    public static readonly TimeSpan Period = TimeSpan.FromHours(1);
    public const string AllowedOrigin = "https://console.example.com";

    private static int _addresses;
    private Factory? _factory;

    public string ConnectionString { get; private set; } = null!;

    public SiloProcess Silo { get; private set; } = null!;

    public FakeTimeProvider MissClock { get; } = new(DateTimeOffset.UtcNow);

    public Uri BaseAddress { get; private set; } = null!;

    public WebApplicationFactory<Program> Api => _factory!;

    public async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"hardening-{Guid.NewGuid():N}";
        Silo = await SiloProcess.StartAsync(ConnectionString, clusterId, new Dictionary<string, string>
        {
            ["Admin:Email"] = ApiFixture.AdminEmail,
            ["Admin:Password"] = ApiFixture.AdminPassword,
        });

        var settings = ApiFixture.ApiSettings(ConnectionString, clusterId);
        string hour = Period.ToString();
        settings["RateLimits:SignIn:TokenLimit"] = SignInLimit.ToString();
        settings["RateLimits:SignIn:TokensPerPeriod"] = "1";
        settings["RateLimits:SignIn:ReplenishmentPeriod"] = hour;
        settings["RateLimits:CouponCommands:TokenLimit"] = CommandLimit.ToString();
        settings["RateLimits:CouponCommands:TokensPerPeriod"] = "1";
        settings["RateLimits:CouponCommands:ReplenishmentPeriod"] = hour;
        settings["RateLimits:CouponMisses:MaxMisses"] = MissLimit.ToString();
        settings["RateLimits:CouponMisses:Window"] = hour;
        settings["Cors:AllowedOrigins:0"] = AllowedOrigin;
        settings["ForwardedHeaders_Enabled"] = "true";
        _factory = new Factory(settings, MissClock);
        _factory.UseKestrel(0);
        _factory.StartServer();
        var addresses = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        await WaitForAdminAsync();
    }

    /// <summary>A client address no other call of this test run used.</summary>
    public static string NewAddress()
    {
        int n = Interlocked.Increment(ref _addresses);
        return $"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}";
    }

    /// <summary>A client of the real server that speaks for <paramref name="address"/> (a fresh one when null).</summary>
    public HttpClient Client(string? address = null, string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address ?? NewAddress());
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public async Task<HttpClient> AdminClientAsync()
    {
        using var anonymous = Client();
        var tokens = await ApiCalls.LoginAsync(anonymous, ApiFixture.AdminEmail, ApiFixture.AdminPassword);
        return Client(token: tokens.AccessToken);
    }

    /// <summary>Registers a user and logs it in, each from a fresh address, so no test's sign-in budget is spent.</summary>
    public async Task<(HttpClient Client, TestUser User)> NewUserAsync()
    {
        using var registrar = Client();
        var user = await ApiCalls.RegisterAsync(registrar);
        using var anonymous = Client();
        var tokens = await ApiCalls.LoginAsync(anonymous, user.Email, user.Password);
        return (Client(token: tokens.AccessToken), user);
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await Silo.DisposeAsync();
    }

    private async Task WaitForAdminAsync()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var client = Client();
            var response = await client.PostAsync("/api/v1/auth/login", CouponCalls.Json(
                $$"""{"email":"{{ApiFixture.AdminEmail}}","password":"{{ApiFixture.AdminPassword}}"}"""));
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("The bootstrap administrator never became able to log in.");
    }

    private sealed class Factory(IReadOnlyDictionary<string, string> settings, TimeProvider missClock) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureTestServices(services =>
                services.AddSingleton(sp => new CouponMisses(sp.GetRequiredService<IOptions<RateLimitOptions>>(), missClock)));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class HardeningCollection : ICollectionFixture<HardeningFixture>
{
    public const string Name = "hardening";
}
