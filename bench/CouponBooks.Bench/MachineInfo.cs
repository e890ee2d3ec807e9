using System.Globalization;
using System.Runtime.InteropServices;

namespace CouponBooks.Bench;

/// <summary>What the machine is, and a process's memory as Linux reports it in /proc/PID/status.</summary>
public static class MachineInfo
{
    public static string Describe(string postgresVersion)
    {
        long memKiB = ReadKiB("/proc/meminfo", "MemTotal:") ?? 0;
        string os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription
            : RuntimeInformation.OSDescription;
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"nproc {Environment.ProcessorCount} ({cpu}), memory {memKiB / 1024.0 / 1024.0:0.0} GiB, {os}, .NET {Environment.Version}, PostgreSQL {postgresVersion}");
    }

    /// <summary>A member of /proc/PID/status in KiB (VmHWM: peak resident set; VmRSS: current), or null when the process is gone.</summary>
    public static long? ProcessKiB(int pid, string member) => ReadKiB($"/proc/{pid}/status", member + ":");

    private static long? ReadKiB(string path, string member)
    {
        try
        {
            string? line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(member, StringComparison.Ordinal));
            if (line is null)
            {
                return null;
            }

            string number = line[member.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            return long.Parse(number, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
