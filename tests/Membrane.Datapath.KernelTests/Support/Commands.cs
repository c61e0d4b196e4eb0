using System.Diagnostics;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>Runs real programs (curl, ip, bpftool, clang) with a time bound.</summary>
internal static class Commands
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> Run(string file, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a command inside a pod (workloads may use ip netns exec: they need no bpffs).</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> InPod(Pod pod, TimeSpan timeout, params string[] command) =>
        Run("ip", ["netns", "exec", pod.Namespace.Name, .. command], timeout);
}
