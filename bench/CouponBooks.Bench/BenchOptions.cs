using System.Globalization;

namespace CouponBooks.Bench;

/// <summary>The command line of the bench: a scenario name and its options.</summary>
public sealed record BenchOptions(
    string Scenario,
    Uri Api,
    string Postgres,
    int SiloPid,
    int ApiPid,
    string AdminEmail,
    string AdminPassword,
    int Count,
    TimeSpan JobTimeout,
    string? Output,
    IReadOnlyList<string> RawArgs)
{
    public const string Usage =
        """
        usage: CouponBooks.Bench codes|pools --api URL --postgres CONNSTRING --silo-pid N --api-pid N
                                       --admin-email E --admin-password P [--count N]
                                       [--job-timeout SECONDS] [--out FILE]
          codes   reference binary COPY, then generate, upload, export and book stats of N codes (default
                  1000000) through the API, and the silo's and API's peak memory. A job still running after
                  --job-timeout seconds (default 120) is a FAIL: its SQL is cancelled so the later steps run
                  on an idle server.
          pools   a pool of N members (default 100000) added in requests of 10,000, then an equal (perUser 1)
                  and a random (total N) distribution from a book of 10 × N codes, and peak memory.
          Both print a Markdown table and write it to --out (default bench/results/<scenario>-latest.md under
          the repository root).
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        string scenario = args[0];
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Count; i++)
        {
            string name = args[i];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (name.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }

            if (!name.StartsWith("--", StringComparison.Ordinal) || value is null)
            {
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            }

            values[name[2..]] = value;
        }

        string Required(string name) =>
            values.Remove(name, out string? value) && value.Length > 0 ? value : throw new ArgumentException($"--{name} is required");

        int Number(string text, string name, int min) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min
                ? n
                : throw new ArgumentException($"--{name} must be a whole number of at least {min}, got '{text}'");

        string api = Required("api");
        if (!Uri.TryCreate(api, UriKind.Absolute, out var apiUri))
        {
            throw new ArgumentException($"--api must be an absolute URL, got '{api}'");
        }

        var options = new BenchOptions(
            scenario,
            apiUri,
            Required("postgres"),
            Number(Required("silo-pid"), "silo-pid", 1),
            Number(Required("api-pid"), "api-pid", 1),
            Required("admin-email"),
            Required("admin-password"),
            values.Remove("count", out string? count) ? Number(count, "count", 1) : scenario == "pools" ? 100_000 : 1_000_000,
            TimeSpan.FromSeconds(values.Remove("job-timeout", out string? timeout) ? Number(timeout, "job-timeout", 1) : 120),
            values.Remove("out", out string? output) ? output : null,
            args.ToList());
        if (values.Count > 0)
        {
            throw new ArgumentException($"unknown option --{values.Keys.First()}");
        }

        return options;
    }

    /// <summary>The command line as given, with the admin password and the database password masked.</summary>
    public string RedactedCommandLine()
    {
        var parts = new List<string>();
        for (int i = 0; i < RawArgs.Count; i++)
        {
            string arg = RawArgs[i];
            if (arg == "--admin-password" && i + 1 < RawArgs.Count)
            {
                parts.Add(arg);
                parts.Add("***");
                i++;
                continue;
            }

            parts.Add(Quote(RedactPassword(arg)));
        }

        return "CouponBooks.Bench " + string.Join(' ', parts);
    }

    private static string RedactPassword(string arg)
    {
        if (arg.StartsWith("--admin-password=", StringComparison.Ordinal))
        {
            return "--admin-password=***";
        }

        int at = arg.IndexOf("Password=", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return arg;
        }

        int end = arg.IndexOf(';', at);
        return arg[..(at + "Password=".Length)] + "***" + (end < 0 ? "" : arg[end..]);
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@".Contains(c)) ? arg : $"'{arg.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}

/// <summary>A step went wrong in a way that makes the run's figures meaningless.</summary>
public sealed class BenchFailure(string message, Exception? inner = null) : Exception(message, inner);
