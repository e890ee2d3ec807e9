using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CouponBooks.Tests.Hardening;

/// <summary>CORS origins come from configuration; a wildcard stops the start outside Development. No cluster needed: it fails before connecting.</summary>
public sealed class CorsConfigurationTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public void Outside_development_a_wildcard_origin_stops_the_start_with_a_clear_error(string environment)
    {
        using var factory = new CorsFactory(environment, "https://console.example.com", "*");
        var error = Assert.ThrowsAny<Exception>(() => factory.Services);
        Assert.Contains(Unwrap(error), e => e is OptionsValidationException && e.Message.Contains("Cors:AllowedOrigins contains \"*\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://console.example.com/app")]
    [InlineData("console.example.com")]
    [InlineData("ftp://console.example.com")]
    [InlineData("https://console.example.com?x=1")]
    public void An_origin_that_is_not_an_origin_stops_the_start(string origin)
    {
        using var factory = new CorsFactory("Production", origin);
        var error = Assert.ThrowsAny<Exception>(() => factory.Services);
        Assert.Contains(Unwrap(error), e => e is OptionsValidationException && e.Message.Contains("Cors:AllowedOrigins must list origins", StringComparison.Ordinal));
    }

    [Fact]
    public void Development_may_allow_any_origin()
    {
        using var factory = new CorsFactory("Development", "*");
        var policy = factory.Services.GetRequiredService<IOptions<CorsOptions>>().Value.GetPolicy(factory.Services.GetRequiredService<IOptions<CorsOptions>>().Value.DefaultPolicyName);
        Assert.True(policy!.AllowAnyOrigin);
    }

    [Fact]
    public void Listed_origins_are_the_only_ones_allowed_and_none_by_default()
    {
        using var listed = new CorsFactory("Production", "https://console.example.com/", "http://localhost:5173");
        var options = listed.Services.GetRequiredService<IOptions<CorsOptions>>().Value;
        var policy = options.GetPolicy(options.DefaultPolicyName)!;
        Assert.False(policy.AllowAnyOrigin);
        Assert.Equal(["https://console.example.com", "http://localhost:5173"], policy.Origins);
        Assert.False(policy.SupportsCredentials);

        using var none = new CorsFactory("Production");
        var defaults = none.Services.GetRequiredService<IOptions<CorsOptions>>().Value;
        Assert.Empty(defaults.GetPolicy(defaults.DefaultPolicyName)!.Origins);
    }

    private static IEnumerable<Exception> Unwrap(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Unwrap))
                {
                    yield return inner;
                }
            }
        }
    }

    private sealed class CorsFactory(string environment, params string[] origins) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(environment);
            // Nothing listens here: the Api must fail (or start) without ever reaching a database.
            builder.UseSetting("ConnectionStrings:Postgres", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none");
            builder.UseSetting("Orleans:ClusterId", $"cors-config-{Guid.NewGuid():N}");
            builder.UseSetting("Jwt:Key", "couponbooks-tests-signing-key-0123456789abcdef");
            for (int i = 0; i < origins.Length; i++)
            {
                builder.UseSetting($"Cors:AllowedOrigins:{i}", origins[i]);
            }
        }
    }
}
