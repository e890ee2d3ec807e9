using CouponBooks.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace CouponBooks.Silo.Hosting;

/// <summary>The silo's Prometheus scrape endpoint (configuration section <c>Metrics</c>); off unless a port is set.</summary>
public sealed class SiloMetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Port of the scrape endpoint <c>http://{Host}:{Port}/metrics</c>; null or 0 = no endpoint. Every silo on one machine needs its own.</summary>
    public int? Port { get; set; }

    /// <summary>Host the endpoint listens on: <c>*</c> (every address) or a name such as <c>localhost</c>.</summary>
    public string Host { get; set; } = "*";
}

/// <summary>The silo's logs (JSON lines outside Development, with trace ids) and its metrics endpoint.</summary>
public static class SiloObservability
{
    /// <summary>Console logs: one JSON object a line outside Development (plain text in Development), with trace ids; <c>Logging:Console:FormatterName</c> overrides.</summary>
    public static TBuilder AddSiloLogging<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var environment = builder.Environment;
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        builder.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
        });
        builder.Services.PostConfigure<ConsoleLoggerOptions>(o =>
            o.FormatterName ??= environment.IsDevelopment() ? ConsoleFormatterNames.Simple : ConsoleFormatterNames.Json);
        if (builder.Configuration.GetValue<bool>(GrainCallTracing.ConfigKey))
        {
            builder.Services.AddHostedService<GrainCallTracing>();
        }

        return builder;
    }

    /// <summary>The Prometheus scrape endpoint of this silo, when <c>Metrics:Port</c> is set.</summary>
    public static TBuilder AddSiloMetrics<TBuilder>(this TBuilder builder, SiloEndpointOptions endpoints)
        where TBuilder : IHostApplicationBuilder
    {
        var metrics = builder.Configuration.GetSection(SiloMetricsOptions.Section).Get<SiloMetricsOptions>() ?? new SiloMetricsOptions();
        if (metrics.Port is not ({ } port and > 0))
        {
            return builder;
        }

        if (port > 65535)
        {
            throw new InvalidOperationException($"Metrics:Port must be 1..65535, not {port}.");
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("couponbooks-silo", serviceInstanceId: $"{endpoints.AdvertisedHost}:{endpoints.SiloPort}"))
            .WithMetrics(m => m
                .AddMeter(SiloMetrics.MeterName, "Microsoft.Orleans")
                .AddRuntimeInstrumentation()
                .AddPrometheusHttpListener(o =>
                {
                    o.Port = port;
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    if (metrics.Host is "*" or "+")
                    {
                        // The options take a host name only; a wildcard (every address) goes straight to the listener.
                        o.ConfigureHttpListener = (_, listener) =>
                        {
                            listener.Prefixes.Clear();
                            listener.Prefixes.Add($"http://{metrics.Host}:{port}/");
                        };
                    }
                    else
                    {
                        o.Host = metrics.Host;
                    }
                }));
        return builder;
    }
}
