using System.Diagnostics;
using CouponBooks.Hosting;
using Microsoft.Extensions.Logging.Console;

namespace CouponBooks.Api.Hosting;

/// <summary>
/// Console logs: one JSON object a line outside Development (plain text in Development), each carrying the trace
/// and span ids of the request it belongs to; <c>Logging:Console:FormatterName</c> (json, simple, systemd) overrides
/// the choice.
/// </summary>
internal static class LoggingSetup
{
    public static WebApplicationBuilder AddApiLogging(this WebApplicationBuilder builder)
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
        builder.Services.AddSingleton<ProblemLog>();
        if (builder.Configuration.GetValue<bool>(GrainCallTracing.ConfigKey))
        {
            builder.Services.AddHostedService<GrainCallTracing>();
        }

        return builder;
    }
}

/// <summary>The id that ties a response to its log lines: the W3C trace id of the request's activity.</summary>
public static class RequestTrace
{
    public static string? CurrentId() => Activity.Current is { } activity ? activity.TraceId.ToHexString() : null;
}
