using CouponBooks.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CouponBooks.Coupons;

/// <summary>
/// Releases run-out locks (state ASSIGNED, history row "expire" with no actor, the lock's end kept so a redeem
/// still answers lock-expired), folds stats deltas into book_stats, and forgets idempotency keys after 24 hours.
/// Each sweep is one statement, bumping the versions of the rows it changes so coupon grains re-read them.
/// </summary>
internal sealed class MaintenanceGrain(NpgsqlDataSource dataSource, ILogger<MaintenanceGrain> logger) : Grain, IMaintenanceGrain, IRemindable
{
    private const string ReleaseExpiredLocks =
        """
        with expired as (
            select code from coupons where state = 2 and locked_until <= now()
            order by locked_until limit 5000 for update skip locked
        ),
        released as (
            update coupons c set state = 1, version = c.version + 1
            from expired e where c.code = e.code
            returning c.code, c.book_id, c.user_id, c.locked_until
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select code, locked_until, 3, 2, 1, user_id, null from released
        ),
        deltas as (
            insert into book_stats_deltas (book_id, unassigned, assigned, locked, redeemed)
            select book_id, 0, count(*), -count(*), 0 from released group by book_id
        )
        select count(*) from released
        """;

    private const string FoldStats =
        """
        with folded as (delete from book_stats_deltas returning *),
        sums as (
            select book_id, sum(unassigned) as unassigned, sum(assigned) as assigned, sum(locked) as locked, sum(redeemed) as redeemed
            from folded group by book_id
        )
        update book_stats s set unassigned = s.unassigned + x.unassigned, assigned = s.assigned + x.assigned,
                                locked = s.locked + x.locked, redeemed = s.redeemed + x.redeemed
        from sums x where s.book_id = x.book_id
        """;

    private const string ForgetKeys = "delete from idempotency_keys where created_at < now() - interval '24 hours'";

    private static readonly TimeSpan Period = TimeSpan.FromSeconds(2);
    private IGrainTimer? _timer;

    public async Task StartAsync()
    {
        if (_timer is null)
        {
            _timer = this.RegisterGrainTimer(_ => SweepAsync(), new GrainTimerCreationOptions(Period, Period) { KeepAlive = true });
            await this.RegisterOrUpdateReminder("keep-sweeping", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => StartAsync();

    public async Task SweepAsync()
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using (var release = new NpgsqlCommand(ReleaseExpiredLocks, connection))
            {
                long released = (long)(await release.ExecuteScalarAsync())!;
                SiloMetrics.Transitioned(CouponAction.Expire, released);
                if (released > 0)
                {
                    logger.LogDebug("Released {Count} run-out locks", released);
                }
            }

            await using (var fold = new NpgsqlCommand(FoldStats, connection))
            {
                await fold.ExecuteNonQueryAsync();
            }

            await using var forget = new NpgsqlCommand(ForgetKeys, connection);
            await forget.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException ex)
        {
            logger.LogWarning(ex, "A maintenance sweep failed; the next one tries again");
        }
    }
}
