using System.Diagnostics;

namespace Membrane.Agent.Lab;

/// <summary>
/// Starts the lab's long-running processes (agent, workloads) detached from the calling CLI, so they outlive
/// <c>lab up</c>, and stops them again by PID only, after checking the PID still runs the command we started
/// (a reused PID is never signalled).
/// </summary>
internal static class LabProcess
{
    /// <summary>Starts <paramref name="command"/> in a new session with output to <paramref name="logFile"/> and
    /// <paramref name="marker"/> (<c>NAME=value</c>) in its environment; returns its PID (the same process all the
    /// way: sh, setsid and ip/nsenter exec into the command).</summary>
    public static int StartDetached(IReadOnlyList<string> command, string logFile, string marker, IReadOnlyDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var psi = new ProcessStartInfo("sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$@\" >>\"$MEMBRANE_LAB_LOG\" 2>&1 </dev/null");
        psi.ArgumentList.Add("membrane-lab");
        foreach (var arg in command)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["MEMBRANE_LAB_LOG"] = logFile;
        var eq = marker.IndexOf('=', StringComparison.Ordinal);
        psi.Environment[marker[..eq]] = marker[(eq + 1)..];
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {command[0]}");
        return p.Id;
    }

    /// <summary>True if <paramref name="pid"/> is alive and its environment holds exactly <paramref name="marker"/>
    /// (a <c>NAME=value</c> entry set by <see cref="StartDetached"/>).</summary>
    public static bool IsRunning(int pid, string marker)
    {
        if (pid <= 0)
        {
            return false;
        }

        try
        {
            // The process execs several times on its way to the command (sh, setsid, ip/nsenter); while an execve
            // replaces its memory, /proc/PID/environ reads empty. Read again rather than call it gone.
            var text = File.ReadAllText($"/proc/{pid}/environ");
            for (var attempt = 0; text.Length == 0 && attempt < 50; attempt++)
            {
                Thread.Sleep(10);
                text = File.ReadAllText($"/proc/{pid}/environ");
            }

            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && text.Split('\0').Contains(marker, StringComparer.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Sends SIGTERM, waits up to <paramref name="grace"/>, then SIGKILL. Only if the PID still runs the
    /// command identified by <paramref name="marker"/>.</summary>
    public static void Stop(int pid, string marker, TimeSpan grace)
    {
        if (!IsRunning(pid, marker))
        {
            return;
        }

        Signal(pid, 15);
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && IsRunning(pid, marker))
        {
            Thread.Sleep(50);
        }

        if (IsRunning(pid, marker))
        {
            Signal(pid, 9);
            var killDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (DateTime.UtcNow < killDeadline && IsRunning(pid, marker))
            {
                Thread.Sleep(50);
            }
        }
    }

    private static void Signal(int pid, int signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        });
        kill?.WaitForExit();
    }
}
