using CouponBooks.Api.Auth;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Options;

namespace CouponBooks.Tests.Auth;

/// <summary>Outside Development the Api refuses to start without a real signing key. No cluster is needed: it fails before connecting.</summary>
public sealed class JwtConfigurationTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("too-short-key")]
    [InlineData(JwtOptions.DevelopmentKey)]
    public void Outside_development_the_api_refuses_to_start_without_a_strong_key(string? key)
    {
        using var factory = new KeyedFactory("Production", key);
        var error = Assert.ThrowsAny<Exception>(() => factory.Server);
        Assert.Contains(Unwrap(error), e => e is OptionsValidationException && e.Message.Contains("Jwt:Key", StringComparison.Ordinal));
    }

    [Fact]
    public void Development_starts_with_the_built_in_key()
    {
        using var factory = new KeyedFactory("Development", null);
        var options = factory.Services.GetService(typeof(IOptions<JwtOptions>)) as IOptions<JwtOptions>;
        Assert.Equal(JwtOptions.DevelopmentKey, options!.Value.Key);
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

    private sealed class KeyedFactory(string environment, string? key) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(environment);
            // Nothing listens here: the Api must fail (or start) without ever reaching a database.
            builder.UseSetting("ConnectionStrings:Postgres", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none");
            builder.UseSetting("Orleans:ClusterId", $"jwt-config-{Guid.NewGuid():N}");
            builder.UseSetting("Jwt:Key", key ?? string.Empty);
        }
    }
}
