using System.Globalization;

namespace CouponBooks.Bench;

/// <summary>CPU time spent during a step: by the measured stack (silo, API, bench, the PostgreSQL server) and by everything else.</summary>
public sealed record CpuUse(TimeSpan Wall, double StackSeconds, double OtherSeconds, double StealSeconds, double IoWaitSeconds)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{StackSeconds:0.0} s / {OtherSeconds:0.0} s / {StealSeconds:0.0} s / {IoWaitSeconds:0.0} s");
}

/// <summary>
/// Tells whether a step shared the machine: CPU time from /proc/stat (all CPUs) against the CPU time of this stack's
/// processes from /proc/PID/stat. "Other" is what the rest of the machine used meanwhile (other users' builds and
/// tests, say); "steal" is time the hypervisor gave to other guests; "iowait" is idle CPU time with disk I/O
/// outstanding (a sign of waiting for the disk, ours or someone else's). Linux only; zeros elsewhere.
/// </summary>
public sealed class CpuMeter(IReadOnlyList<int> stackPids, int? postmasterPid)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on

    /// <summary>The parent of a local process if it is a PostgreSQL server process (a backend's parent is the postmaster), else null.</summary>
    public static int? PostmasterOf(int backendPid)
    {
        try
        {
            return File.ReadAllText($"/proc/{backendPid}/comm").StartsWith("postgres", StringComparison.Ordinal) && Stat(backendPid) is { } stat
                && File.ReadAllText($"/proc/{stat.Parent}/comm").StartsWith("postgres", StringComparison.Ordinal)
                ? stat.Parent
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public Reading Start() => new(this, DateTimeOffset.UtcNow, MachineTicks(), StackTicks());

    public sealed class Reading(CpuMeter meter, DateTimeOffset at, (long Busy, long Steal, long IoWait) machine, Dictionary<int, long> stack)
    {
        public CpuUse Stop()
        {
            var (busy, steal, ioWait) = MachineTicks();
            var now = meter.StackTicks();
            long stackTicks = now.Sum(p => p.Value - stack.GetValueOrDefault(p.Key));
            long busyTicks = busy - machine.Busy;
            return new CpuUse(
                DateTimeOffset.UtcNow - at,
                stackTicks / TicksPerSecond,
                Math.Max(0, busyTicks - stackTicks) / TicksPerSecond,
                (steal - machine.Steal) / TicksPerSecond,
                (ioWait - machine.IoWait) / TicksPerSecond);
        }
    }

    /// <summary>Busy ticks of all CPUs (user, nice, system, irq, softirq; not idle or iowait), steal and iowait ticks.</summary>
    private static (long Busy, long Steal, long IoWait) MachineTicks()
    {
        try
        {
            string line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            long[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal
            return (f[0] + f[1] + f[2] + f[5] + f[6], f.Length > 7 ? f[7] : 0, f[4]);
        }
        catch (IOException)
        {
            return (0, 0, 0);
        }
    }

    private Dictionary<int, long> StackTicks()
    {
        var pids = new HashSet<int>(stackPids) { Environment.ProcessId };
        if (postmasterPid is { } postmaster)
        {
            pids.Add(postmaster);
            foreach (int child in ChildrenOf(postmaster))
            {
                pids.Add(child);
            }
        }

        var ticks = new Dictionary<int, long>();
        foreach (int pid in pids)
        {
            if (ProcessTicks(pid) is { } t)
            {
                ticks[pid] = t;
            }
        }

        return ticks;
    }

    private static IEnumerable<int> ChildrenOf(int parent)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && Stat(pid) is { } stat && stat.Parent == parent)
            {
                yield return pid;
            }
        }
    }

    private static long? ProcessTicks(int pid) => Stat(pid) is { } stat ? stat.Ticks : null;

    /// <summary>The parent pid and utime + stime of /proc/PID/stat (fields 4, 14 and 15; the name in field 2 may hold spaces).</summary>
    private static (int Parent, long Ticks)? Stat(int pid)
    {
        try
        {
            string text = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            // f[0] is field 3 (state): field n is f[n - 3]
            return (int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
