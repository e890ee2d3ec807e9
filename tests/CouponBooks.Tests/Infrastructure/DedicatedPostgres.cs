using System.Diagnostics;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of one test's own (started through <c>scripts/postgres.sh</c> in a fresh directory on a free
/// port), which the test may stop and start again without disturbing the server the other tests share.
/// </summary>
public sealed class DedicatedPostgres : IAsyncDisposable
{
    private readonly string _directory;
    private readonly int _port;

    private DedicatedPostgres(string directory, int port, string connectionString)
    {
        _directory = directory;
        _port = port;
        ServerConnectionString = connectionString;
    }

    /// <summary>The connection string of the server's own database (a role that may create databases).</summary>
    public string ServerConnectionString { get; }

    private static string Script => Path.Combine(TestPostgres.RepositoryRoot, "scripts", "postgres.sh");

    public static async Task<DedicatedPostgres> StartAsync()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"couponbooks-fault-pg-{Guid.NewGuid():N}"[..40]);
        int port = TestPostgres.FreeTcpPort();
        string output = await TestPostgres.RunAsync(Script, $"start --dir {directory} --port {port}");
        var server = new DedicatedPostgres(directory, port, output.Trim().Split('\n')[^1].Trim());
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.RemoveNow();
        return server;
    }

    /// <summary>Stops the server (fast shutdown: sessions are ended, new connections refused).</summary>
    public Task StopAsync() => TestPostgres.RunAsync(Script, $"stop --dir {_directory}");

    /// <summary>Starts the stopped server again on the same port; returns once it accepts connections.</summary>
    public Task StartAgainAsync() => TestPostgres.RunAsync(Script, $"start --dir {_directory} --port {_port}");

    public async ValueTask DisposeAsync() => await TestPostgres.RunAsync(Script, $"remove --dir {_directory}");

    private void RemoveNow()
    {
        if (!Directory.Exists(_directory))
        {
            return;
        }

        using var remove = Process.Start(new ProcessStartInfo(Script, $"remove --dir {_directory}") { RedirectStandardOutput = true, RedirectStandardError = true });
        remove?.WaitForExit(30_000);
    }
}
