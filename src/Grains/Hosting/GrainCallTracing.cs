using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace CouponBooks.Hosting;

/// <summary>
/// With <c>Tracing:GrainCalls</c> on (in every process of the cluster), a grain call carries the trace of the request
/// that made it, so a silo's log lines for that request carry its trace id. Off by default: it costs an activity on
/// each side of every grain call.
/// </summary>
public sealed class GrainCallTracing : IHostedService, IDisposable
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
