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
}
