using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace CouponBooks.Api.Http;

/// <summary>The browser origins allowed to call the Api (configuration section <c>Cors</c>).</summary>
public sealed class CorsSettings
{
    public const string Section = "Cors";
    public const string AnyOrigin = "*";

    /// <summary>Origins such as <c>https://console.example.com</c>; empty (the default) allows no cross-origin caller. <c>*</c> only in Development.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    internal bool AllowsAny => AllowedOrigins.Any(o => o.Trim() == AnyOrigin);

    /// <summary>An origin is a scheme, a host and maybe a port: http(s)://host[:port], nothing more.</summary>
    internal static bool IsOrigin(string origin) =>
        origin.Trim() == AnyOrigin
        || (Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            && string.IsNullOrEmpty(uri.UserInfo));
}

internal static class CorsSetup
{
    public static IServiceCollection AddApiCors(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddOptions<CorsSettings>()
            .Bind(configuration.GetSection(CorsSettings.Section))
            .Validate(o => environment.IsDevelopment() || !o.AllowsAny,
                "Cors:AllowedOrigins contains \"*\": any web page could call the Api with its users' tokens. List the console's origins instead (Cors__AllowedOrigins__0=https://console.example.com); \"*\" is for Development only.")
            .Validate(o => o.AllowedOrigins.All(CorsSettings.IsOrigin),
                "Cors:AllowedOrigins must list origins such as https://console.example.com (scheme, host and optional port; no path).")
            .Validate(o => o.PreflightMaxAge >= TimeSpan.Zero, "Cors:PreflightMaxAge must not be negative.")
            .ValidateOnStart();

        services.AddCors();
        // The default provider only reads the options; one instance instead of one per request.
        services.AddSingleton<ICorsPolicyProvider, DefaultCorsPolicyProvider>();
        services.AddOptions<CorsOptions>().Configure<IOptions<CorsSettings>>((cors, settings) => cors.AddDefaultPolicy(policy =>
        {
            var allowed = settings.Value;
            if (allowed.AllowsAny)
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(allowed.AllowedOrigins.Select(o => o.Trim().TrimEnd('/')).ToArray());
            }

            // Bearer tokens, not cookies: no credentials mode, so no page can ride on a session.
            policy.WithMethods("GET", "POST", "PATCH", "DELETE")
                .WithHeaders("Authorization", "Content-Type", "Idempotency-Key")
                .WithExposedHeaders("Location", "Retry-After", "Content-Disposition")
                .SetPreflightMaxAge(allowed.PreflightMaxAge);
        }));
        return services;
    }
}
