using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CouponBooks.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the tests use: the one named by <c>ConnectionStrings__Postgres</c>, or a throwaway server
/// started through <c>scripts/postgres.sh</c> and removed when the test process exits. Each fixture gets a fresh database.
/// </summary>
public static class TestPostgres
{
    private static readonly Lazy<Task<string>> Server = new(StartServerAsync);

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Creates a new, migrated database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync() => await CreateDatabaseOnAsync(await Server.Value);

    /// <summary>Creates a new database without the schema (for hosts that apply it themselves).</summary>
    public static async Task<string> CreateEmptyDatabaseAsync() => await CreateDatabaseOnAsync(await Server.Value, migrate: false);

    /// <summary>Creates a new, migrated database on the given server (a <see cref="DedicatedPostgres"/>, say).</summary>
    public static async Task<string> CreateDatabaseOnAsync(string serverConnectionString, bool migrate = true)
    {
        var server = new NpgsqlConnectionStringBuilder(serverConnectionString);
        string name = $"cb_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        server.Database = name;
        server.MaxPoolSize = 50;
        if (migrate)
        {
            await SchemaMigrator.MigrateAsync(server.ConnectionString, NullLogger.Instance);
        }

        return server.ConnectionString;
    }

    /// <summary>
    /// A port nothing listens on and this test run has not handed out before, below the kernel's ephemeral range.
    /// A port the kernel picked (bind to 0) lies inside that range, where any outgoing connection may take it as its
    /// local port once its silo is killed, and a silo started again on it then cannot be reached.
    /// </summary>
    public static int FreeTcpPort()
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int port = Random.Shared.Next(FirstPort, EphemeralLow);
            if (!HandedOut.TryAdd(port, 0))
            {
                continue;
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Any, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException($"No free port between {FirstPort} and {EphemeralLow}.");
    }

    private const int FirstPort = 20000;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    private static readonly int EphemeralLow = ReadEphemeralLow();

    private static int ReadEphemeralLow()
    {
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.TryParse(range[0], out int low) && low > FirstPort + 1000 ? low : 32768;
        }
        catch (IOException)
        {
            return 32768;
        }
    }

    private static async Task<string> StartServerAsync()
    {
        if (Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 } given)
        {
            return given;
        }

        string dataDir = Path.Combine(Path.GetTempPath(), $"couponbooks-test-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        int port = FreeTcpPort();
        string script = Path.Combine(RepositoryRoot, "scripts", "postgres.sh");
        string output = await RunAsync(script, $"start --dir {dataDir} --port {port}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            using var remove = Process.Start(new ProcessStartInfo(script, $"remove --dir {dataDir}") { RedirectStandardOutput = true, RedirectStandardError = true });
            remove?.WaitForExit(30_000);
        };
        return output.Trim().Split('\n')[^1].Trim();
    }

    internal static async Task<string> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}):\n{await stderr}\n{await stdout}");
        }

        return await stdout;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CouponBooks.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (CouponBooks.sln) above the test binaries.");
    }
}
