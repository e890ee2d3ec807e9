namespace CouponBooks.Coupons;

/// <summary>Keeps the coupon tables tidy in the background; one activation in the cluster (key 0).</summary>
public interface IMaintenanceGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the sweeps run (a reminder calls it too, so the grain comes back after its silo dies).</summary>
    Task StartAsync();

    /// <summary>Runs every sweep once, now.</summary>
    Task SweepAsync();
}
