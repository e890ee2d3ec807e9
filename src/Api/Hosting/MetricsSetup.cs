using CouponBooks.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace CouponBooks.Api.Hosting;

/// <summary>
/// OpenTelemetry metrics of the Api process, scraped as Prometheus text at <c>GET /metrics</c> (anyone): ASP.NET
/// Core's request meters (requests by route and status), the Api's own <see cref="ApiMetrics"/>, the Orleans
/// client's meters and the .NET runtime's; in an Api that hosts a silo (<c>Orleans:CoHosted</c>) also that silo's
/// <see cref="SiloMetrics"/> and Orleans meters. Separate silos export theirs on their own port (<c>Metrics:Port</c>).
/// </summary>
internal static class MetricsSetup
{
    public const string ScrapePath = "/metrics";

    public static WebApplicationBuilder AddApiMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("couponbooks-api"))
            .WithMetrics(metrics => metrics
                .AddMeter(ApiMetrics.MeterName, SiloMetrics.MeterName, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                // Every scrape reads the instruments afresh (the exporter would otherwise answer from a 300 ms cache).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    public static IEndpointRouteBuilder MapApiMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint(ScrapePath).AllowAnonymous();
        return app;
    }
}
