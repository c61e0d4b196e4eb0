using System.Diagnostics;
using Membrane.Agent.Lab;

namespace Membrane.Cli.Commands.Demo;

/// <summary>What a real client saw when it ran inside a pod.</summary>
/// <param name="ExitCode">The client's exit code (124 when the demo's time limit killed it).</param>
/// <param name="Stdout">Standard output.</param>
/// <param name="Stderr">Standard error.</param>
internal sealed record ClientRun(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + "\n" + Stderr;
}

/// <summary>One of the seed's checks: a real client run inside a pod, the outcome the seed expects, and how to read
/// the outcome from what the client printed.</summary>
/// <param name="From">The pod the client runs in.</param>
/// <param name="Request">What it does, for the table.</param>
/// <param name="Expected">The expected outcome, for the table.</param>
/// <param name="Command">The client command line.</param>
/// <param name="Judge">Turns the client's output into (actual outcome text, passed).</param>
/// <param name="StandardInput">Text fed to the client's standard input, if any.</param>
internal sealed record DemoCheck(
    string From,
    string Request,
    string Expected,
    IReadOnlyList<string> Command,
    Func<ClientRun, (string Actual, bool Passed)> Judge,
    string? StandardInput = null)
{
    /// <summary>Runs the client in the pod's network namespace with a time limit; never throws for client failures.</summary>
    public (string Actual, bool Passed) Run(LabState lab, TimeSpan limit)
    {
        var pod = lab.FindPod(From) ?? throw new LabException($"the demo lab has no pod {From}");
        var psi = new ProcessStartInfo("timeout")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in (string[])["-k", "5", $"{(int)limit.TotalSeconds}", "ip", "netns", "exec", pod.NetworkNamespace, .. Command])
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start a client");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (StandardInput is not null)
        {
            p.StandardInput.Write(StandardInput);
        }

        p.StandardInput.Close();
        p.WaitForExit();
        return Judge(new ClientRun(p.ExitCode, stdout.Result, stderr.Result));
    }
}
