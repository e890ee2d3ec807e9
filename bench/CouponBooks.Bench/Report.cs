using System.Globalization;
using System.Text;

namespace CouponBooks.Bench;

/// <summary>A figure with its target: <see cref="Pass"/> is null for figures reported without a target.</summary>
public sealed record Measurement(string Step, string What, string Result, string Target, bool? Pass);

/// <summary>A correctness check: the run's figures only count when every check passes.</summary>
public sealed record Check(string What, string Expected, string Actual, bool Pass);

/// <summary>Where a step's time went, or another figure that explains one.</summary>
public sealed record Phase(string Step, string What, string Value);

/// <summary>Collects a run's figures and writes them as Markdown.</summary>
public sealed class Report(string title)
{
    private readonly List<Measurement> _measurements = [];
    private readonly List<Check> _checks = [];
    private readonly List<Phase> _phases = [];
    private readonly List<string> _notes = [];

    public bool AllChecksPass => _checks.All(c => c.Pass);

    public bool AllTargetsMet => _measurements.All(m => m.Pass != false);

    public void Add(Measurement measurement) => _measurements.Add(measurement);

    public void Add(Phase phase) => _phases.Add(phase);

    public void Note(string note) => _notes.Add(note);

    public bool Add(Check check)
    {
        _checks.Add(check);
        return check.Pass;
    }

    public string ToMarkdown(IReadOnlyList<(string Name, string Value)> context)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}").AppendLine();
        foreach (var (name, value) in context)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {value}");
        }

        md.AppendLine().AppendLine("| step | measurement | result | target | status |").AppendLine("|---|---|---:|---|---|");
        foreach (var m in _measurements)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Step} | {m.What} | {m.Result} | {m.Target} | {Status(m.Pass)} |");
        }

        md.AppendLine().AppendLine("Correctness:").AppendLine().AppendLine("| check | expected | actual | status |").AppendLine("|---|---:|---:|---|");
        foreach (var c in _checks)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {c.What} | {c.Expected} | {c.Actual} | {Status(c.Pass)} |");
        }

        md.AppendLine().AppendLine("Where the time goes:").AppendLine().AppendLine("| step | phase | value |").AppendLine("|---|---|---:|");
        foreach (var p in _phases)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Step} | {p.What} | {p.Value} |");
        }

        if (_notes.Count > 0)
        {
            md.AppendLine();
            foreach (string note in _notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        return md.ToString();
    }

    private static string Status(bool? pass) => pass switch { true => "PASS", false => "**FAIL**", null => "—" };

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.00 's'", CultureInfo.InvariantCulture);

    public static string Millis(double ms) => ms.ToString(ms < 10 ? "0.00 'ms'" : "0.0 'ms'", CultureInfo.InvariantCulture);

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string MiB(long kib) => (kib / 1024.0).ToString("0 'MiB'", CultureInfo.InvariantCulture);
}
