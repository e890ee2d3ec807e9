using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using CouponBooks.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CouponBooks.Tests.WebConsole;

/// <summary>Runs alone: a browser, an Api process and a silo at once would slow the timing-sensitive tests beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WebConsoleCollection
{
    public const string Name = "web-console";
}

/// <summary>
/// The console's end-to-end journeys (web/e2e, node:test + playwright-core in Debian's Chromium) against a real Api
/// process on a free port, a real silo and a fresh PostgreSQL database. ./test.sh installs Chromium and builds the
/// console first; screenshots of each main page land in web/e2e/screenshots/.
/// </summary>
[Collection(WebConsoleCollection.Name)]
public sealed class WebConsoleJourneysTests(ITestOutputHelper output)
{
    private const string AdminEmail = "admin@e2e.example.com";
    private const string AdminPassword = "admin-e2e-password";
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan JourneysTimeout = TimeSpan.FromMinutes(6);

    private static string WebDir => Path.Combine(TestPostgres.RepositoryRoot, "web");

    [Fact]
    public async Task Admin_and_user_journeys_pass_in_headless_chromium()
    {
        AssertPrerequisites();

        string connectionString = await TestPostgres.CreateDatabaseAsync();
        string clusterId = $"web-e2e-{Guid.NewGuid():N}";
        await using var silo = await SiloProcess.StartAsync(connectionString, clusterId, new Dictionary<string, string>
        {
            ["Admin:Email"] = AdminEmail,
            ["Admin:Password"] = AdminPassword,
        });

        int port = TestPostgres.FreeTcpPort();
        string baseUrl = $"http://127.0.0.1:{port}";
        var apiLog = new StringBuilder();
        using var apiProcess = StartApi(connectionString, clusterId, baseUrl, apiLog);
        try
        {
            await WaitUntilReadyAsync(apiProcess, baseUrl, apiLog);

            var journeys = await RunAsync("node", ["--test", "--test-concurrency=1", "--test-reporter=spec", "e2e/"], WebDir, new Dictionary<string, string>
            {
                ["CONSOLE_URL"] = baseUrl,
                ["E2E_ADMIN_EMAIL"] = AdminEmail,
                ["E2E_ADMIN_PASSWORD"] = AdminPassword,
                ["CHROMIUM_PATH"] = Chromium,
                ["NO_COLOR"] = "1",
            }, JourneysTimeout);
            output.WriteLine(journeys.Output);
            Assert.True(
                journeys.ExitCode == 0,
                journeys.TimedOut
                    ? $"The e2e journeys did not finish within {JourneysTimeout.TotalMinutes} minutes.\n{journeys.Output}"
                    : $"The e2e journeys failed (node exit code {journeys.ExitCode}).\n{journeys.Output}\n--- Api log ---\n{apiLog}");
            // node's spec reporter closes with "ℹ pass N" and "ℹ fail N": every journey ran, none failed.
            var passed = Regex.Match(journeys.Output, @"^ℹ pass (\d+)$", RegexOptions.Multiline);
            Assert.True(passed.Success && int.Parse(passed.Groups[1].Value) >= 3, $"Expected at least 3 passing journeys.\n{journeys.Output}");
            Assert.Matches(@"(?m)^ℹ fail 0$", journeys.Output);
        }
        finally
        {
            Stop(apiProcess);
        }
    }

    private static void AssertPrerequisites()
    {
        Assert.True(File.Exists(Path.Combine(WebDir, "dist", "index.html")),
            "The web console is not built (web/dist/index.html is missing): run web/build.sh, or ./test.sh, which builds it.");
        Assert.True(Directory.Exists(Path.Combine(WebDir, "node_modules", "playwright-core")),
            "web/node_modules is missing: run web/build.sh (npm ci), or ./test.sh.");
        Assert.True(File.Exists(Chromium),
            $"{Chromium} is missing: install Debian's chromium (apt-get install chromium), which ./test.sh does as root.");
    }

    private static Process StartApi(string connectionString, string clusterId, string baseUrl, StringBuilder log)
    {
        // The Api as its own process on a real port, built in the same configuration as these tests.
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string apiDir = Path.Combine(TestPostgres.RepositoryRoot, "src", "Api");
        string apiDll = Path.Combine(apiDir, "bin", configuration, "net10.0", "CouponBooks.Api.dll");
        Assert.True(File.Exists(apiDll), $"{apiDll} is missing: build the solution in {configuration} first.");

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = apiDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { apiDll, "--urls", baseUrl })
        {
            start.ArgumentList.Add(arg);
        }

        var settings = ApiFixture.ApiSettings(connectionString, clusterId);
        settings["Console:Root"] = Path.Combine(WebDir, "dist");
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilReadyAsync(Process api, string baseUrl, StringBuilder log)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            Assert.False(api.HasExited, $"The Api process exited with code {(api.HasExited ? api.ExitCode : 0)} before it was ready.\n{log}");
            try
            {
                var ready = await http.GetAsync($"{baseUrl}/health/ready");
                var login = ready.IsSuccessStatusCode
                    ? await http.PostAsync($"{baseUrl}/api/v1/auth/login", new StringContent($$"""{"email":"{{AdminEmail}}","password":"{{AdminPassword}}"}""", Encoding.UTF8, "application/json"))
                    : null;
                if (login?.IsSuccessStatusCode == true)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"The Api at {baseUrl} was not ready (/health/ready and the administrator's login) within {ReadyTimeout.TotalSeconds} s.\n{log}");
            await Task.Delay(250);
        }
    }

    private static async Task<(int ExitCode, bool TimedOut, string Output)> RunAsync(
        string file, string[] args, string workingDirectory, Dictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"Could not start {file} ({ex.Message}): the e2e journeys need Node.js 20 on the PATH.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, true, output.ToString());
        }

        await process.WaitForExitAsync();
        return (process.ExitCode, false, output.ToString());
    }

    /// <summary>Stops the Api as Ctrl-C would (it leaves the cluster cleanly), and kills it if it does not stop in time.</summary>
    private static void Stop(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            term.WaitForExit(5_000);
        }

        if (!process.WaitForExit(15_000))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }
}
