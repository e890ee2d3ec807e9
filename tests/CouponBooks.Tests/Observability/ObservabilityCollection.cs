using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Observability;

/// <summary>
/// Its own Api and silo, run while no other test runs: the instruments are process-wide (static meters, and every
/// test host lives in this one process), so only then does a scrape's delta count exactly what the test did.
/// No test here builds another web host: disposing one ends the ASP.NET Core meters of the same name in every
/// metrics pipeline of the process (a test-process effect; a real Api process has one host).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ObservabilityCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "observability";
}

/// <summary>The logging tests, which swap Console.Out and build extra web hosts: alone, and apart from the metrics tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoggingCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "observability-logging";
}
