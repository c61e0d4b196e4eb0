using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Membrane.Datapath.Netns;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>
/// A minimal transparent L4 proxy in the node namespace, standing in for the real proxy (another engineer's part)
/// exactly as contracts.md describes it: an IP_TRANSPARENT listener on 0.0.0.0:port, the original destination from
/// the accepted socket's local address, the client identity from the datapath's ipcache, and an upstream socket
/// with SO_MARK = 0x0B00 | identity &lt;&lt; 16 that (optionally) binds the client's address to preserve it.
/// </summary>
internal sealed class TestProxy : IDisposable
{
    public const int SolIp = 0;
    public const int IpTransparent = 19;
    public const int SolSocket = 1;
    public const int SoMark = 36;

    private readonly Socket _listener;
    private readonly NetnsThread _node;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];

    public TestProxy(NetnsThread node, bool preserveSourceAddress)
    {
        _node = node;
        PreserveSourceAddress = preserveSourceAddress;
        _listener = node.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.SetRawSocketOption(SolIp, IpTransparent, BitConverter.GetBytes(1));
            s.Bind(new IPEndPoint(IPAddress.Any, 0));
            s.Listen(128);
            return s;
        });
        Port = (ushort)((IPEndPoint)_listener.LocalEndPoint!).Port;
    }

    public ushort Port { get; }

    public bool PreserveSourceAddress { get; }

    /// <summary>Resolves a client address to its identity (the agent's ipcache).</summary>
    public Func<IPAddress, uint> ResolveIdentity { get; set; } = _ => 0;

    /// <summary>What the proxy saw per accepted connection: client, original destination, identity.</summary>
    public ConcurrentQueue<(IPEndPoint Client, IPEndPoint OriginalDestination, uint Identity)> Accepted { get; } = new();

    public void Start() => _ = AcceptLoop();

    /// <summary>Opens a socket in the node namespace marked as the proxy's upstream for <paramref name="identity"/>.</summary>
    public static Socket UpstreamSocket(NetnsThread node, uint identity, IPAddress? bindTo) => node.Run(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        s.SetRawSocketOption(SolSocket, SoMark, BitConverter.GetBytes(0x0B00 | (int)(identity << 16)));
        if (bindTo is not null)
        {
            s.SetRawSocketOption(SolIp, IpTransparent, BitConverter.GetBytes(1));
            s.Bind(new IPEndPoint(bindTo, 0));
        }

        return s;
    });

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var socket in _sockets)
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

            _sockets.Add(client);
            _ = Relay(client);
        }
    }

    private async Task Relay(Socket client)
    {
        var peer = (IPEndPoint)client.RemoteEndPoint!;
        var original = (IPEndPoint)client.LocalEndPoint!;
        if (original.Port == Port)
        {
            client.Dispose(); // loop guard: never connect to our own listener
            return;
        }

        var identity = ResolveIdentity(peer.Address);
        Accepted.Enqueue((peer, original, identity));
        var upstream = UpstreamSocket(_node, identity, PreserveSourceAddress ? peer.Address : null);
        _sockets.Add(upstream);
        try
        {
            await upstream.ConnectAsync(original, _stop.Token);
            await Task.WhenAll(Pump(client, upstream), Pump(upstream, client));
        }
        catch
        {
            // Upstream refused or dropped: close the client side.
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task Pump(Socket from, Socket to)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch
        {
            // Either side closed.
        }
    }
}

/// <summary>A tiny HTTP/1.1 server in a pod that answers every request with the peer address it sees.</summary>
internal sealed class PeerEchoHttpServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();

    public PeerEchoHttpServer(Pod pod)
    {
        _listener = pod.Thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(pod.Address, 0));
            s.Listen(64);
            return s;
        });
        Port = (ushort)((IPEndPoint)_listener.LocalEndPoint!).Port;
        _ = Loop(pod.Name);
    }

    public ushort Port { get; }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }

    private async Task Loop(string name)
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

            _ = Answer(client, name);
        }
    }

    private async Task Answer(Socket client, string name)
    {
        using (client)
        {
            var buffer = new byte[8192];
            var received = 0;
            try
            {
                while (received < buffer.Length)
                {
                    var n = await client.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    received += n;
                    if (System.Text.Encoding.ASCII.GetString(buffer, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        break;
                    }
                }

                var body = $"hello from {name}; client={client.RemoteEndPoint}\n";
                var response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                await client.SendAsync(System.Text.Encoding.ASCII.GetBytes(response), SocketFlags.None, _stop.Token);
                client.Shutdown(SocketShutdown.Send);
            }
            catch
            {
                // Client went away.
            }
        }
    }
}
