using System.Diagnostics;

namespace CouponBooks.Tests.Infrastructure;

/// <summary>
/// A silo in an operating-system process of its own (the built <c>CouponBooks.Silo.dll</c>), so a test can kill it
/// with SIGKILL and nothing of it survives but what it wrote to PostgreSQL. It keeps its ports across restarts, as a
/// silo restarted by an operator would.
/// </summary>
public sealed class SiloChildProcess : IAsyncDisposable
{
    private const int ActiveStatus = 3;
    private readonly Dictionary<string, string> _settings;
    private const int HeadLines = 60;
    private const int TailLines = 150;
    private readonly List<string> _head = [];
    private readonly Queue<string> _output = new();
    private long _dropped;
    private Process? _process;

    private SiloChildProcess(Dictionary<string, string> settings, string connectionString, string clusterId, int siloPort, int gatewayPort)
    {
        _settings = settings;
        ConnectionString = connectionString;
        ClusterId = clusterId;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
    }

    public string ConnectionString { get; }

    public string ClusterId { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The silo's own build output, of the configuration the tests were built in (it has the silo's runtime config).</summary>
    private static string SiloDirectory
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string configuration = framework.Parent!.Name;
            return Path.Combine(TestPostgres.RepositoryRoot, "src", "Silo", "bin", configuration, framework.Name);
        }
    }

    /// <summary>The first and the last lines the silo's current process wrote, for failure messages.</summary>
    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                string gap = _dropped > 0 ? $"\n... ({_dropped} lines left out) ...\n" : "\n";
                return string.Join("\n", _head) + gap + string.Join("\n", _output);
            }
        }
    }

    /// <summary>Starts a silo process and waits until the membership table lists it as active.</summary>
    public static async Task<SiloChildProcess> StartAsync(string connectionString, string clusterId, IDictionary<string, string>? extra = null)
    {
        int siloPort = TestPostgres.FreeTcpPort();
        int gatewayPort = TestPostgres.FreeTcpPort();
        var settings = SiloProcess.Settings(connectionString, clusterId, siloPort, gatewayPort, extra);
        var silo = new SiloChildProcess(settings, connectionString, clusterId, siloPort, gatewayPort);
        await silo.StartAgainAsync();
        return silo;
    }

    /// <summary>Starts the process again (after <see cref="Kill"/>) on the same ports, as a new incarnation of the silo.</summary>
    public async Task StartAgainAsync(TimeSpan? timeout = null)
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("The silo is running.");
        }

        _process?.Dispose();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = SiloDirectory,
        };
        info.ArgumentList.Add(Path.Combine(SiloDirectory, "CouponBooks.Silo.dll"));
        foreach (var (key, value) in _settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }

        // The test run's own settings must not leak into the silo: it gets everything on its command line.
        info.Environment.Remove("ConnectionStrings__Postgres");
        info.Environment["DOTNET_ENVIRONMENT"] = "Testing";

        lock (_output)
        {
            _head.Clear();
            _output.Clear();
            _dropped = 0;
        }

        // The new incarnation is the Active row of this port with a generation not seen before it started (a killed
        // incarnation's row says Active until the cluster declares it dead).
        int[] earlier = await GenerationsAsync();
        var started = DateTime.UtcNow;
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the silo process.");
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = started + (timeout ?? TimeSpan.FromSeconds(90));
        while (!await IsActiveAsync(earlier))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The silo process exited with {process.ExitCode} during start:\n{RecentOutput}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The silo on port {SiloPort} did not become active within {deadline - started}:\n{RecentOutput}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: the process ends at once, without leaving the cluster or finishing anything.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<bool> IsActiveAsync(int[] earlierGenerations)
    {
        try
        {
            return await TestDb.ScalarAsync<long>(ConnectionString,
                "select count(*) from orleansmembershiptable where deploymentid = $1 and port = $2 and status = $3 and generation <> all($4)",
                ClusterId, SiloPort, ActiveStatus, earlierGenerations) > 0;
        }
        catch (Npgsql.NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>Generations of this port's rows so far (none before the schema exists).</summary>
    private async Task<int[]> GenerationsAsync()
    {
        try
        {
            var generations = await TestDb.StringsAsync(ConnectionString,
                "select generation::text from orleansmembershiptable where deploymentid = $1 and port = $2", ClusterId, SiloPort);
            return [.. generations.Select(int.Parse)];
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.UndefinedTable)
        {
            return [];
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_head.Count < HeadLines)
            {
                _head.Add(line);
                return;
            }

            _output.Enqueue(line);
            if (_output.Count > TailLines)
            {
                _output.Dequeue();
                _dropped++;
            }
        }
    }
}
