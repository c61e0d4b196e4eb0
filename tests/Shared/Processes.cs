using System.Diagnostics;

namespace Membrane.Tests.Shared;

/// <summary>
/// Runs a real program (curl, ip, nft, bpftool, the membrane CLI) with a time bound and captures its output; a program
/// that overruns is killed (its own process tree, by PID) and the call throws. Compiled into the test projects that
/// drive real processes (tests/Shared).
/// </summary>
internal static class Processes
{
    /// <summary>The default bound: 20 s.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IReadOnlyList<string> args, TimeSpan? timeout = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        // Closed either way: a program that reads standard input sees its end rather than the test runner's.
        process.StandardInput.Close();

        var bound = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(bound);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {bound}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
