using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CouponBooks.Users;

/// <summary>Creates the configured administrator once the silo is up, if no user has that email yet.</summary>
internal sealed class AdminBootstrap(
    IGrainFactory grains,
    IOptions<AdminBootstrapOptions> options,
    IHostApplicationLifetime lifetime,
    IHostEnvironment environment,
    ILogger<AdminBootstrap> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var admin = options.Value;
        if (string.IsNullOrWhiteSpace(admin.Email) || string.IsNullOrEmpty(admin.Password))
        {
            logger.LogInformation("No bootstrap administrator configured (Admin:Email, Admin:Password)");
            return;
        }

        if (!environment.IsDevelopment() && admin.Password == AdminBootstrapOptions.DevelopmentPassword)
        {
            logger.LogError("Admin:Password is the development default; set Admin__Password to a secret to create the bootstrap administrator outside Development");
            return;
        }

        if (admin.Password.Length < 10)
        {
            logger.LogError("Admin:Password is shorter than 10 characters; bootstrap administrator not created");
            return;
        }

        // Grain calls need the silo running; it is once the host has started.
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task;
        }

        var directory = grains.GetGrain<IUserDirectoryGrain>(0);
        var existing = await directory.FindByEmailAsync(admin.Email);
        if (existing is not null)
        {
            if (existing.Role != UserRole.Admin)
            {
                logger.LogWarning("Bootstrap administrator {Email} exists but is not an ADMIN; left as it is", admin.Email);
            }

            return;
        }

        var outcome = await grains.GetGrain<IUserGrain>(Guid.CreateVersion7())
            .RegisterAsync(new Registration(admin.Email.Trim(), admin.Password, "Administrator", UserRole.Admin));
        if (outcome.Refusal is { } refusal)
        {
            // Another silo starting at the same time created it first.
            logger.LogInformation("Bootstrap administrator not created: {Detail}", refusal.Detail);
        }
        else
        {
            logger.LogInformation("Created bootstrap administrator {Email}", admin.Email);
        }
    }
}
