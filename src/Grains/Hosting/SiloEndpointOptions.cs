namespace CouponBooks.Hosting;

/// <summary>Where this silo listens and which cluster it joins (configuration section <c>Orleans</c>).</summary>
public sealed class SiloEndpointOptions
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "couponbooks";

    public string ServiceId { get; set; } = "couponbooks";

    /// <summary>Silo-to-silo port; every silo on one machine needs its own.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients (a separate Api, the demo command) connect to; every silo on one machine needs its own.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Host name or IP other silos and clients reach this silo at.</summary>
    public string AdvertisedHost { get; set; } = "127.0.0.1";

    /// <summary>
    /// Grain addresses the silo's directory cache keeps (least recently used go first). Orleans' default of 1,000,000
    /// puts every new activation's address in the cache, also on a silo that owns its directory entry, for good: at
    /// 2,500 new coupon grains a second the cache grew by 0.75 MB/s of long-lived objects, so collections promoted and
    /// copied them and gen2 grew until a full collection paused the process (94 ms in a half-load run). A small cache
    /// keeps the addresses in use (a lock and its redeem, the books) and lets the rest die young.
    /// </summary>
    public int DirectoryCacheSize { get; set; } = 2_000;

    /// <summary>How long a grain call from this silo may go unanswered before it fails; null keeps Orleans' 30 s.</summary>
    public TimeSpan? ResponseTimeout { get; set; }
}
