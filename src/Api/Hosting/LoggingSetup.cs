using System.Diagnostics;
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

/// <summary>
/// With <c>Tracing:GrainCalls</c> on (and the silos' too), grain calls carry the request's trace, so the silo's log
/// lines for a request carry its trace id. Off by default: it costs an activity on each side of every grain call.
/// </summary>
internal sealed class GrainCallTracing : IHostedService, IDisposable
{
    public const string ConfigKey = "Tracing:GrainCalls";

    private ActivityListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Orleans starts a grain call's activity only when someone listens; propagation is all it needs.
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(_listener);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _listener?.Dispose();
}

/// <summary>The id that ties a response to its log lines: the W3C trace id of the request's activity.</summary>
public static class RequestTrace
{
    public static string? CurrentId() => Activity.Current is { } activity ? activity.TraceId.ToHexString() : null;
}
