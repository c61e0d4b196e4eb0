using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>Real sockets inside pod namespaces: created on the pod's netns thread, then used from anywhere.</summary>
internal static class Sockets
{
    public static readonly TimeSpan DeniedTimeout = TimeSpan.FromMilliseconds(1000);
    public static readonly TimeSpan AllowedTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A TCP connection from <paramref name="from"/> (from <paramref name="localPort"/> if given), or null when
    /// it does not complete within <paramref name="timeout"/>.</summary>
    public static async Task<TcpConnection?> TryConnectTcp(Pod from, IPAddress to, int port, TimeSpan timeout, int localPort = 0)
    {
        var socket = from.Thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (localPort != 0)
            {
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(new IPEndPoint(from.Address, localPort));
            }

            return s;
        });
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(to, port), cts.Token);
            return new TcpConnection(socket);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>True when a TCP connection opens and one request/response round trip completes.</summary>
    public static async Task<bool> TcpWorks(Pod from, IPAddress to, int port, TimeSpan timeout)
    {
        using var connection = await TryConnectTcp(from, to, port, timeout);
        return connection is not null && await connection.RoundTrip(timeout);
    }

    /// <summary>True when a UDP datagram is echoed back.</summary>
    public static async Task<bool> UdpWorks(Pod from, IPAddress to, int port, TimeSpan timeout)
    {
        using var socket = from.Thread.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        var payload = Encoding.ASCII.GetBytes($"udp-{Guid.NewGuid():N}");
        await socket.SendToAsync(payload, new IPEndPoint(to, port));
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            return buffer.AsSpan(0, received.ReceivedBytes).SequenceEqual(payload);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>True when an ICMP echo request gets its reply (raw socket in the pod).</summary>
    public static async Task<bool> PingWorks(Pod from, IPAddress to, TimeSpan timeout)
    {
        using var socket = from.Thread.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp));
        var id = (ushort)Random.Shared.Next(1, 65535);
        var request = new byte[16];
        request[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(2), Checksum(request));
        await socket.SendToAsync(request, new IPEndPoint(to, 0));
        var buffer = new byte[1500];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
                var ihl = (buffer[0] & 0x0F) * 4;
                if (received.ReceivedBytes >= ihl + 8 && buffer[ihl] == 0 && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(ihl + 4)) == id)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Outcome of a TCP connection attempt: refused (RST) means the SYN reached the peer's stack.</summary>
    public static async Task<Reach> ProbeTcp(Pod from, IPAddress to, int port, TimeSpan timeout)
    {
        using var socket = from.Thread.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(to, port), cts.Token);
            return Reach.Connected;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return Reach.Refused;
        }
        catch (OperationCanceledException)
        {
            return Reach.Dropped;
        }
    }

    /// <summary>Outcome of a UDP datagram: an echo, an ICMP port unreachable (refused: the datagram reached the
    /// peer's stack and the error came back as RELATED), or nothing.</summary>
    public static async Task<Reach> ProbeUdp(Pod from, IPAddress to, int port, TimeSpan timeout)
    {
        using var socket = from.Thread.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        await socket.ConnectAsync(new IPEndPoint(to, port));
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[256];
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("probe"), SocketFlags.None, cts.Token);
            await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Reach.Connected;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return Reach.Refused;
        }
        catch (OperationCanceledException)
        {
            return Reach.Dropped;
        }
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}

/// <summary>What became of a probe.</summary>
internal enum Reach
{
    /// <summary>Connected or answered.</summary>
    Connected,

    /// <summary>Refused by the peer's stack: the packet got through the datapath.</summary>
    Refused,

    /// <summary>No answer: dropped.</summary>
    Dropped,
}

/// <summary>
/// An open TCP connection to an echo server. A round trip that times out leaves its receive pending (cancelling a
/// socket operation would abort the socket): the next round trip first collects the echo still owed.
/// </summary>
internal sealed class TcpConnection : IDisposable
{
    private readonly byte[] _buffer = new byte[65536];
    private readonly List<byte> _received = [];
    private readonly Queue<byte[]> _owed = new();
    private Task<int>? _pending;

    public TcpConnection(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public IPEndPoint Local => (IPEndPoint)Socket.LocalEndPoint!;

    /// <summary>Sends a line and waits for its echo (after any echo still owed); false on timeout or error.</summary>
    public async Task<bool> RoundTrip(TimeSpan timeout)
    {
        var payload = Encoding.ASCII.GetBytes($"ping-{Guid.NewGuid():N}\n");
        var deadline = Task.Delay(timeout);
        try
        {
            _owed.Enqueue(payload);
            await Socket.SendAsync(payload, SocketFlags.None);
            while (_owed.Count > 0)
            {
                var expected = _owed.Peek();
                while (_received.Count < expected.Length)
                {
                    _pending ??= Socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None).AsTask();
                    if (await Task.WhenAny(_pending, deadline) == deadline)
                    {
                        return false;
                    }

                    var n = await _pending;
                    _pending = null;
                    if (n == 0)
                    {
                        return false;
                    }

                    _received.AddRange(_buffer.AsSpan(0, n));
                }

                if (!_received.Take(expected.Length).SequenceEqual(expected))
                {
                    return false;
                }

                _received.RemoveRange(0, expected.Length);
                _owed.Dequeue();
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Closes with a RST (SO_LINGER 0): no TIME_WAIT, so the local port can open the same tuple again at once.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public void Dispose() => Socket.Dispose();
}

/// <summary>A TCP echo server in a pod (bound to the pod's address, port 0 unless given).</summary>
internal sealed class TcpEchoServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _accepted = [];

    public TcpEchoServer(Pod pod, int port = 0)
    {
        _listener = pod.Thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(pod.Address, port));
            s.Listen(512);
            return s;
        });
        Address = pod.Address;
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _ = AcceptLoop();
    }

    public IPAddress Address { get; }

    public int Port { get; }

    /// <summary>Peers of accepted connections (the server's view of the client address).</summary>
    public ConcurrentQueue<IPEndPoint> Peers { get; } = new();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var socket in _accepted)
        {
            socket.Dispose();
        }
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch
            {
                return;
            }

            _accepted.Add(client);
            Peers.Enqueue((IPEndPoint)client.RemoteEndPoint!);
            _ = Echo(client);
        }
    }

    private async Task Echo(Socket client)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                await client.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch
        {
            // Connection reset or server stopped.
        }
        finally
        {
            client.Dispose();
        }
    }
}

/// <summary>A UDP echo server in a pod.</summary>
internal sealed class UdpEchoServer : IDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();

    public UdpEchoServer(Pod pod, int port = 0)
    {
        _socket = pod.Thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(pod.Address, port));
            return s;
        });
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _ = Loop();
    }

    public int Port { get; }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
    }

    private async Task Loop()
    {
        var buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var r = await _socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                await _socket.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint, _stop.Token);
            }
            catch
            {
                return;
            }
        }
    }
}
