using System.Globalization;

namespace CouponBooks.Load;

/// <summary>The command line of the load generator.</summary>
public sealed class LoadOptions
{
    public const string Usage =
        """
        usage: CouponBooks.Load --api URL --reference URL --postgres CONNECTION_STRING [options]
          --admin-email E --admin-password P   the API's admin (Development: admin@example.com / admin-dev-password)
          --connections N      HTTP/1.1 keep-alive connections per target, and closed-loop workers (64)
          --warmup S           seconds of warm-up before each measured window (3)
          --duration S         seconds of each measured window (15)
          --prime S            seconds each service first runs every request path, unmeasured, so the JIT is done (10; 0: none)
          --users N            simulated users, each with its own token (1000)
          --pool N             pre-assigned coupons per target for lock-redeem and half load (250000)
          --get-coupons N      assigned coupons per target for the get scenario (10000)
          --assign-codes N     free codes of the assignment book (250000)
          --hot N              coupons of the hot set (10)
          --half-load-rate R   requests/s of the half-load scenario for both services (default: half of each one's lock-redeem)
          --scenarios LIST     any of pgbench,lock-redeem,hot-set,get,assign,half-load (all)
          --pgbench PATH       pgbench binary (found in /usr/lib/postgresql/*/bin or on PATH)
          --pid NAME=PID       a process to meter CPU of (silo, api, reference); repeatable
          --out FILE           also write the Markdown report there
          --command TEXT       the command line to print in the report
        Exit status: 0 every target met and every check passed; 3 every check passed but a target was missed; 1 a failure.
        """;

    public static readonly string[] AllScenarios = ["pgbench", "lock-redeem", "hot-set", "get", "assign", "half-load"];

    public required Uri Api { get; init; }
    public required Uri Reference { get; init; }
    public required string Postgres { get; init; }
    public string AdminEmail { get; init; } = "admin@example.com";
    public string AdminPassword { get; init; } = "admin-dev-password";
    public int Connections { get; init; } = 64;
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan Prime { get; init; } = TimeSpan.FromSeconds(10);
    public int Users { get; init; } = 1000;
    public int Pool { get; init; } = 250_000;
    public int GetCoupons { get; init; } = 10_000;
    public int AssignCodes { get; init; } = 250_000;
    public int Hot { get; init; } = 10;
    public int? HalfLoadRate { get; init; }
    public IReadOnlySet<string> Scenarios { get; init; } = new HashSet<string>(AllScenarios);
    public string? Pgbench { get; init; }
    public IReadOnlyList<(string Name, int Pid)> Pids { get; init; } = [];
    public string? Out { get; init; }
    public string Command { get; init; } = "CouponBooks.Load";

    public bool Runs(string scenario) => Scenarios.Contains(scenario);

    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        var pids = new List<(string, int)>();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --option value, got '{name}'");
            }

            string value = args[++i];
            if (name == "--pid")
            {
                string[] parts = value.Split('=', 2);
                if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    throw new ArgumentException($"--pid takes NAME=PID, got '{value}'");
                }

                pids.Add((parts[0], pid));
            }
            else
            {
                values[name[2..]] = value;
            }
        }

        string Required(string name) => values.Remove(name, out var v) ? v : throw new ArgumentException($"--{name} is required");
        string? Optional(string name) => values.Remove(name, out var v) ? v : null;
        int Int(string name, int fallback) => Optional(name) is { } v
            ? int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new ArgumentException($"--{name} takes a positive integer")
            : fallback;

        var scenarios = Optional("scenarios") is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet()
            : new HashSet<string>(AllScenarios);
        if (scenarios.FirstOrDefault(s => !AllScenarios.Contains(s)) is { } unknown)
        {
            throw new ArgumentException($"unknown scenario '{unknown}'");
        }

        var options = new LoadOptions
        {
            Api = new Uri(Required("api")),
            Reference = new Uri(Required("reference")),
            Postgres = Required("postgres"),
            AdminEmail = Optional("admin-email") ?? "admin@example.com",
            AdminPassword = Optional("admin-password") ?? "admin-dev-password",
            Connections = Int("connections", 64),
            Warmup = TimeSpan.FromSeconds(Int("warmup", 3)),
            Duration = TimeSpan.FromSeconds(Int("duration", 15)),
            Prime = TimeSpan.FromSeconds(values.GetValueOrDefault("prime") == "0" && values.Remove("prime") ? 0 : Int("prime", 10)),
            Users = Int("users", 1000),
            Pool = Int("pool", 250_000),
            GetCoupons = Int("get-coupons", 10_000),
            AssignCodes = Int("assign-codes", 250_000),
            Hot = Int("hot", 10),
            HalfLoadRate = values.ContainsKey("half-load-rate") ? Int("half-load-rate", 1) : null,
            Scenarios = scenarios,
            Pgbench = Optional("pgbench"),
            Pids = pids,
            Out = Optional("out"),
            Command = Optional("command") ?? "CouponBooks.Load",
        };
        if (values.Count > 0)
        {
            throw new ArgumentException($"unknown option --{values.Keys.First()}");
        }

        return options;
    }
}
