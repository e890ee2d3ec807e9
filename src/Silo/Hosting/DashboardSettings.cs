namespace CouponBooks.Silo.Hosting;

/// <summary>The Orleans Dashboard of this silo (configuration section <c>Dashboard</c>); off unless enabled.</summary>
public sealed class DashboardSettings
{
    public const string Section = "Dashboard";

    /// <summary>Serve the dashboard. It has no login and profiles every grain call, so it is off by default.</summary>
    public bool Enabled { get; set; }

    /// <summary>HTTP port of the dashboard; every silo on one machine needs its own.</summary>
    public int Port { get; set; } = 8081;

    /// <summary>Address to listen on: <c>127.0.0.1</c> (this machine only) or <c>0.0.0.0</c> (all interfaces, e.g. in a container).</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";
}
