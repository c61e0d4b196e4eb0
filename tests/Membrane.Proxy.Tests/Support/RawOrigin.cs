using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Membrane.Proxy.Tests.Support;

/// <summary>
/// An upstream that records the exact bytes of every request it receives (head and body, as a string) and answers
/// 200 with <c>ok</c>. It parses just enough HTTP/1.1 to find request boundaries (Content-Length or chunked) and
/// keeps connections alive, so tests see precisely what the proxy forwarded.
/// </summary>
internal sealed class RawOrigin : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly ConcurrentBag<Socket> _connections = [];

    public RawOrigin(IPAddress? address = null, Func<AddressFamily, Socket>? socketFactory = null, int port = 0)
    {
        var a = address ?? IPAddress.Loopback;
        _listener = socketFactory?.Invoke(a.AddressFamily) ?? new Socket(a.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(a, port));
        _listener.Listen(128);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accept = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Every request received, head and body, in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Remote address of every accepted connection.</summary>
    public ConcurrentQueue<IPEndPoint> Peers { get; } = new();

    /// <summary>Optional raw response to send instead of the default 200 (for response-parsing tests).</summary>
    public Func<string, byte[]>? Respond { get; set; }

    public IEnumerable<string> RequestLines => Requests.Select(r => r[..r.IndexOf("\r\n", StringComparison.Ordinal)]);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        foreach (var c in _connections)
        {
            c.Dispose();
        }

        try
        {
            await _accept;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var c = await _listener.AcceptAsync(_stop.Token);
            _connections.Add(c);
            Peers.Enqueue((IPEndPoint)c.RemoteEndPoint!);
            _ = ServeAsync(c);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new List<byte>();
        var chunk = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int end;
                while ((end = RequestEnd(buffer)) < 0)
                {
                    var n = await socket.ReceiveAsync(chunk, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, n));
                }

                var request = Encoding.Latin1.GetString(buffer.GetRange(0, end).ToArray());
                buffer.RemoveRange(0, end);
                Requests.Enqueue(request);
                var line = request[..request.IndexOf("\r\n", StringComparison.Ordinal)];
                var response = Respond?.Invoke(request) ?? Encoding.ASCII.GetBytes(
                    line.StartsWith("HEAD ", StringComparison.Ordinal)
                        ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok");
                await socket.SendAsync(response, SocketFlags.None, _stop.Token);
                if (response.AsSpan().StartsWith("HTTP/1.0 "u8))
                {
                    // An HTTP/1.0 answer without Content-Length ends when the connection does.
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>Length of the first complete request in <paramref name="b"/>, or -1.</summary>
    private static int RequestEnd(List<byte> b)
    {
        var text = Encoding.Latin1.GetString(b.ToArray());
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0)
        {
            return -1;
        }

        var head = text[..headEnd];
        var bodyStart = headEnd + 4;
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                var length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                return text.Length >= bodyStart + length ? bodyStart + length : -1;
            }

            if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase))
            {
                var last = text.IndexOf("\r\n0\r\n\r\n", bodyStart - 2, StringComparison.Ordinal);
                return last < 0 ? -1 : last + 7;
            }
        }

        return bodyStart;
    }
}
