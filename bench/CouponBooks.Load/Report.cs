using System.Globalization;
using System.Text;

namespace CouponBooks.Load;

/// <summary>A row of the main table: a figure for CouponBooks, for the reference, their ratio and the target.</summary>
public sealed record Row(string Scenario, string CouponBooks, string Reference, string Ratio, string PgbenchRatio, string Target, bool? Pass);

/// <summary>A correctness check of the database after a run.</summary>
public sealed record Check(string Scenario, string What, string Expected, string Actual, bool Pass);

/// <summary>Where a run's time went: the CPU of each process and what PostgreSQL did.</summary>
public sealed record Cost(string Scenario, string Target, double RequestsPerSecond, double TransitionsPerSecond, Usage Usage, IReadOnlyList<string> Processes);

/// <summary>Collects the run's tables and writes them as Markdown.</summary>
public sealed class Report
{
    private readonly List<Row> _rows = [];
    private readonly List<Check> _checks = [];
    private readonly List<Cost> _costs = [];
    private readonly List<string> _notes = [];
    private readonly List<(string Title, IReadOnlyList<(string Label, IReadOnlyList<string> Values)> Series)> _timelines = [];

    public bool AllChecksPass => _checks.All(c => c.Pass);

    public bool AllTargetsMet => _rows.All(r => r.Pass != false);

    public void Add(Row row) => _rows.Add(row);

    /// <summary>The most CPU (cores) the rest of the machine used in a measured window of the services (pgbench's own client excluded).</summary>
    public (double Average, double Max) RestOfMachine()
    {
        var windows = _costs.Where(c => c.Target != "pgbench" && c.Usage.Seconds > 0).Select(c => c.Usage.OtherCpuSeconds / c.Usage.Seconds).ToList();
        return windows.Count == 0 ? (0, 0) : (windows.Average(), windows.Max());
    }

    public void Add(Cost cost) => _costs.Add(cost);

    public void Note(string note) => _notes.Add(note);

    /// <summary>A table of figures by second of a measured window (one row a series), written after the notes.</summary>
    public void AddTimeline(string title, IReadOnlyList<(string Label, IReadOnlyList<string> Values)> series) => _timelines.Add((title, series));

    public bool Add(Check check)
    {
        _checks.Add(check);
        if (!check.Pass)
        {
            Console.Error.WriteLine($"load: CHECK FAILED: {check.Scenario}: {check.What}: expected {check.Expected}, got {check.Actual}");
        }

        return check.Pass;
    }

    public string ToMarkdown(string title, IReadOnlyList<(string Name, string Value)> context)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}").AppendLine();
        foreach (var (name, value) in context)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {value}");
        }

        md.AppendLine().AppendLine("| scenario | CouponBooks | reference | ratio | pgbench ratio | target | status |").AppendLine("|---|---:|---:|---:|---:|---|---|");
        foreach (var r in _rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Scenario} | {r.CouponBooks} | {r.Reference} | {r.Ratio} | {r.PgbenchRatio} | {r.Target} | {Status(r.Pass)} |");
        }

        md.AppendLine().AppendLine("Correctness (database after each run):").AppendLine()
            .AppendLine("| scenario | check | expected | actual | status |").AppendLine("|---|---|---:|---:|---|");
        foreach (var c in _checks)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {c.Scenario} | {c.What} | {c.Expected} | {c.Actual} | {(c.Pass ? "PASS" : "**FAIL**")} |");
        }

        if (_costs.Count > 0)
        {
            var names = _costs[0].Processes;
            md.AppendLine().AppendLine("Where the time goes (measured windows; CPU in cores busy, i.e. CPU-seconds per second, of 2):").AppendLine();
            md.Append("| scenario | target | req/s | transitions/s |");
            foreach (string n in names)
            {
                md.Append(CultureInfo.InvariantCulture, $" {n} |");
            }

            md.AppendLine(" rest of machine | stolen by the host | CPU ms per request (all) | commits/s | WAL flushes/s | transitions per WAL flush | stats-delta rows/s | transitions per delta row |");
            md.Append("|---|---|---:|---:|");
            foreach (string _ in names)
            {
                md.Append("---:|");
            }

            md.AppendLine("---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var c in _costs)
            {
                var u = c.Usage;
                double s = Math.Max(u.Seconds, 1e-9);
                md.Append(CultureInfo.InvariantCulture, $"| {c.Scenario} | {c.Target} | {Rate(c.RequestsPerSecond)} | {Rate(c.TransitionsPerSecond)} |");
                foreach (string n in names)
                {
                    md.Append(CultureInfo.InvariantCulture, $" {u.CpuOf(n) / s:0.00} |");
                }

                double allCpu = u.Cpu.Sum(x => x.CpuSeconds) + u.OtherCpuSeconds;
                double requests = c.RequestsPerSecond * s;
                double transitions = c.TransitionsPerSecond * s;
                md.AppendLine(CultureInfo.InvariantCulture,
                    $" {u.OtherCpuSeconds / s:0.00} | {u.StealSeconds / s:0.00} | {(requests > 0 ? allCpu * 1000 / requests : 0):0.00} | {u.Pg.Commits / s:0} | {u.Pg.WalSyncs / s:0} | {Per(transitions, u.Pg.WalSyncs)} | {u.Pg.DeltaRows / s:0} | {Per(transitions, u.Pg.DeltaRows)} |");
            }
        }

        if (_notes.Count > 0)
        {
            md.AppendLine();
            foreach (string note in _notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        foreach (var (heading, series) in _timelines)
        {
            int seconds = series.Max(x => x.Values.Count);
            md.AppendLine().AppendLine(heading).AppendLine();
            md.Append("| second |");
            for (int i = 1; i <= seconds; i++)
            {
                md.Append(CultureInfo.InvariantCulture, $" {i} |");
            }

            md.AppendLine().Append("|---|").AppendLine(string.Concat(Enumerable.Repeat("---:|", seconds)));
            foreach (var (label, values) in series)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {label} |");
                for (int i = 0; i < seconds; i++)
                {
                    md.Append(CultureInfo.InvariantCulture, $" {(i < values.Count ? values[i] : "")} |");
                }

                md.AppendLine();
            }
        }

        return md.ToString();
    }

    public static string Rate(double perSecond) => double.IsNaN(perSecond) ? "—" : perSecond.ToString("N0", CultureInfo.InvariantCulture);

    public static string Millis(double ms) => double.IsNaN(ms) ? "—" : ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms";

    public static string Ratio(double ratio) => double.IsNaN(ratio) || double.IsInfinity(ratio) ? "—" : ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    private static string Per(double transitions, long events) => events > 0 && transitions > 0 ? (transitions / events).ToString("0.0", CultureInfo.InvariantCulture) : "—";

    private static string Status(bool? pass) => pass switch { true => "PASS", false => "**FAIL**", null => "—" };
}
