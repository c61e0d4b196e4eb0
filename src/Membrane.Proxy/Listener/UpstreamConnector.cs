using System.Net;
using System.Net.Sockets;

namespace Membrane.Proxy.Listener;

/// <summary>Why an upstream connection could not be opened.</summary>
internal sealed class UpstreamConnectException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Opens upstream connections as the contract requires (contracts.md, "Datapath ↔ Proxy"): in transparent mode
/// <c>SO_MARK = 0x0B00 | identity &lt;&lt; 16</c>, <c>IP_TRANSPARENT</c> and a bind to the client's address so the
/// source IP is preserved; never to one of the proxy's own listeners (loop guard).
/// </summary>
internal static class UpstreamConnector
{
    /// <summary>Connects to the connection's original destination (or explicit upstream).</summary>
    public static async ValueTask<Socket> ConnectAsync(ListenerRuntime listener, ConnectionInfo info, uint sourceIdentity, CancellationToken cancellationToken)
    {
        var destination = info.OriginalDestination;
        if (listener.Server.IsOwnListenerEndpoint(destination))
        {
            throw new UpstreamConnectException($"refusing to connect to the proxy's own listener {destination} (loop)");
        }

        var socket = listener.Server.SocketFactory(destination.AddressFamily);
        socket.NoDelay = true;
        try
        {
            if (info.Mode == ProxyMode.Transparent)
            {
                SocketOptions.SetMark(socket, SocketOptions.UpstreamMark(sourceIdentity));
                if (listener.PreserveClientAddress && info.Client.AddressFamily == destination.AddressFamily)
                {
                    SocketOptions.SetTransparent(socket);
                    socket.Bind(new IPEndPoint(info.Client.Address, 0));
                }
            }
            else if (listener.Server.Options.MarkExplicitUpstream)
            {
                SocketOptions.SetMark(socket, SocketOptions.UpstreamMark(sourceIdentity));
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(listener.Server.Options.UpstreamConnectTimeout);
            try
            {
                await socket.ConnectAsync(destination, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new UpstreamConnectException($"upstream connect to {destination} timed out");
            }

            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new UpstreamConnectException($"upstream connect to {destination} failed: {e.SocketErrorCode}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
