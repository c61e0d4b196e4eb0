using System.CommandLine;
using System.Net;

namespace Membrane.Cli.Commands.Workload;

/// <summary>One hidden <c>membrane workload &lt;verb&gt;</c>: a real application the lab runs inside a pod.</summary>
internal interface IWorkloadVerb
{
    /// <summary>Builds the verb's command.</summary>
    Command Create();
}

/// <summary>
/// <c>membrane workload</c> (hidden): runs the lab's applications. Each verb is a class implementing
/// <see cref="IWorkloadVerb"/> in this folder, found by reflection, so verbs are added without touching this file.
/// </summary>
public static class WorkloadCommand
{
    /// <summary>Builds the command group.</summary>
    public static Command Build()
    {
        var group = new Command("workload", "Run a lab workload (HTTP users API, gRPC catalog, Kafka broker, clients).") { Hidden = true };
        var verbs = typeof(WorkloadCommand).Assembly.GetTypes()
            .Where(t => typeof(IWorkloadVerb).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => ((IWorkloadVerb)Activator.CreateInstance(t)!).Create())
            .OrderBy(c => c.Name, StringComparer.Ordinal);
        foreach (var verb in verbs)
        {
            group.Subcommands.Add(verb);
        }

        return group;
    }

    /// <summary>Parses <c>ADDR:PORT</c> (IPv4, or <c>[v6]:port</c>).</summary>
    internal static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var e) ? e : throw new ArgumentException($"--listen: '{text}' is not ADDR:PORT");

    /// <summary>Waits until Ctrl-C or SIGTERM.</summary>
    internal static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource();
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            done.TrySetResult();
        });
        using var reg = cancellationToken.Register(() => done.TrySetResult());
        await done.Task.ConfigureAwait(false);
    }
}
