using System.IO.Pipelines;

namespace Membrane.Proxy.Listener;

/// <summary>Relays bytes both ways, unparsed, for connections whose policy has no L7 rules (<see cref="Membrane.Policy.MapState.L7Protocol.None"/>).</summary>
internal static class ByteRelay
{
    /// <summary>Copies until both directions have ended; each direction's end is passed on as a half-close.</summary>
    public static async Task RunAsync(IDuplexPipe client, SocketDuplexPipe upstream, CancellationToken cancellationToken)
    {
        var toUpstream = CopyAsync(client.Input, upstream.Output, upstream.ShutdownSend, cancellationToken);
        var toClient = CopyAsync(upstream.Input, client.Output, null, cancellationToken);
        await Task.WhenAll(toUpstream, toClient).ConfigureAwait(false);
    }

    private static async Task CopyAsync(PipeReader from, PipeWriter to, Action? onEnd, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await from.ReadAsync(cancellationToken).ConfigureAwait(false);
                foreach (var segment in result.Buffer)
                {
                    await to.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
                }

                from.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            onEnd?.Invoke();
            await to.CompleteAsync().ConfigureAwait(false);
        }
    }
}
