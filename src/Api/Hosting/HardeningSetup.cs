using CouponBooks.Api.Audit;
using CouponBooks.Api.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CouponBooks.Api.Hosting;

/// <summary>Rate limits, CORS, the audit log and a quieter server header; the middleware goes in by its own Use calls (order matters).</summary>
internal static class HardeningSetup
{
    public static IServiceCollection AddApiHardening(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddApiRateLimiting(configuration);
        services.AddApiCors(configuration, environment);
        services.AddSingleton<AuditLog>();
        services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        return services;
    }
}
