using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CouponBooks.Coupons;

/// <summary>Wakes the maintenance grain once this silo is up (its reminder keeps it going after that).</summary>
internal sealed class MaintenanceStarter(IGrainFactory grains, IHostApplicationLifetime lifetime, ILogger<MaintenanceStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IMaintenanceGrain>(0).StartAsync();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not start the maintenance sweeps yet; trying again");
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            }
        }
    }
}
