using System.Diagnostics;

namespace Membrane.Datapath.Netns;

/// <summary>
/// Runs iproute2 (<c>ip</c>) and sysctl commands; a failure surfaces as a <see cref="DatapathException"/> with the
/// command line and its error output. Commands are bounded in time.
/// </summary>
internal static class IpCommand
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>ip ARGS</c> and returns its standard output.</summary>
    public static string Ip(params string[] args) => Run("ip", args);

    /// <summary>Runs <c>ip -n NAMESPACE ARGS</c> (iproute2 enters the namespace itself).</summary>
    public static string IpIn(string netns, params string[] args) => Run("ip", ["-n", netns, .. args]);

    /// <summary>Sets sysctls inside a named namespace.</summary>
    public static void Sysctl(string netns, params string[] assignments) =>
        Run("ip", ["netns", "exec", netns, "sysctl", "-q", "-w", .. assignments]);

    public static string Run(string file, IReadOnlyList<string> args, bool allowFailure = false)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DatapathException($"{file} could not be started ({e.Message}); Membrane needs the Debian package iproute2");
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new DatapathException($"{CommandLine(file, args)}: timed out after {s_timeout.TotalSeconds:0} s");
        }

        process.WaitForExit();
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new DatapathException($"{CommandLine(file, args)}: exit code {process.ExitCode}: {stderr.Result.Trim()}");
        }

        return stdout.Result;
    }

    private static string CommandLine(string file, IReadOnlyList<string> args) => $"{file} {string.Join(' ', args)}";
}
