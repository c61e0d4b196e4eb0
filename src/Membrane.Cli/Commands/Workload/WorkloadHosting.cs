using System.Net;
using System.Runtime.InteropServices;

namespace Membrane.Cli.Commands.Workload;

/// <summary>What the HTTP and gRPC workload verbs share: address parsing and waiting for a stop signal.</summary>
internal static class WorkloadHosting
{
    /// <summary>Parses <c>ADDR:PORT</c> (IPv4, or <c>[v6]:port</c>).</summary>
    public static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var e) ? e : throw new ArgumentException($"--listen: '{text}' is not ADDR:PORT");

    /// <summary>Waits until Ctrl-C or SIGTERM.</summary>
    public static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            done.TrySetResult();
        });
        using var reg = cancellationToken.Register(() => done.TrySetResult());
        await done.Task.ConfigureAwait(false);
    }
}
