using CouponBooks.Hosting;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>An Orleans TestCluster whose grains use the real ADO.NET storage on a fresh PostgreSQL database.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public string ConnectionString { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync();
        var builder = new TestClusterBuilder(initialSilosCount: 1);
        builder.Options.ClusterId = $"grain-tests-{Guid.NewGuid():N}";
        builder.Options.BaseSiloPort = TestPostgres.FreeTcpPort();
        builder.Options.BaseGatewayPort = TestPostgres.FreeTcpPort();
        builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = ConnectionString,
            ["Identity:BcryptWorkFactor"] = "4",
        }));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddCouponBooksGrains(siloBuilder.Configuration);
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
