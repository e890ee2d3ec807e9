using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>The Api (WebApplicationFactory) in front of a real silo, both on a fresh PostgreSQL database.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public const string JwtKey = "couponbooks-tests-signing-key-0123456789abcdef";
    public const string JwtIssuer = "couponbooks";
    public const string JwtAudience = "couponbooks-api";
    public const string AdminEmail = "admin@tests.example.com";
    public const string AdminPassword = "admin-test-password";

    private ApiFactory? _factory;

    public string ConnectionString { get; private set; } = null!;

    public string ClusterId { get; } = $"api-tests-{Guid.NewGuid():N}";

    public SiloProcess Silo { get; private set; } = null!;

    public WebApplicationFactory<Program> Factory => _factory!;

    public async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync();
        Silo = await SiloProcess.StartAsync(ConnectionString, ClusterId, new Dictionary<string, string>
        {
            ["Admin:Email"] = AdminEmail,
            ["Admin:Password"] = AdminPassword,
        });
        _factory = new ApiFactory(ApiSettings(ConnectionString, ClusterId));
        _ = _factory.Server;
        await WaitForAdminAsync();
    }

    public static Dictionary<string, string> ApiSettings(string connectionString, string clusterId) => new()
    {
        ["ConnectionStrings:Postgres"] = connectionString,
        ["Orleans:ClusterId"] = clusterId,
        ["Orleans:ServiceId"] = clusterId,
        ["Jwt:Key"] = JwtKey,
        ["Jwt:Issuer"] = JwtIssuer,
        ["Jwt:Audience"] = JwtAudience,
        ["Logging:LogLevel:Default"] = "Warning",
    };

    public HttpClient CreateClient() => Factory.CreateClient();

    public async Task<HttpClient> AdminClientAsync() => await ClientForAsync(AdminEmail, AdminPassword);

    public async Task<HttpClient> ClientForAsync(string email, string password)
    {
        var client = CreateClient();
        var tokens = await ApiCalls.LoginAsync(client, email, password);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return client;
    }

    /// <summary>Registers a fresh user and returns a client carrying its token.</summary>
    public async Task<(HttpClient Client, TestUser User)> NewUserAsync(string? displayName = null)
    {
        var user = await ApiCalls.RegisterAsync(CreateClient(), displayName: displayName);
        return (await ClientForAsync(user.Email, user.Password), user);
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
        using var client = CreateClient();
        for (int attempt = 0; attempt < 100; attempt++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = AdminEmail, password = AdminPassword });
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("The bootstrap administrator never became able to log in.");
    }

    public sealed class ApiFactory(IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}
