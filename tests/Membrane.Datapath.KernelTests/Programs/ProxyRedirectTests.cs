using System.Net;
using System.Net.Sockets;
using Membrane.Datapath.Events;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Xunit.Abstractions;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Programs;

/// <summary>
/// The L7 redirect path of contracts.md end to end: bpf_sk_assign to a transparent listener in the node namespace,
/// the proxy's upstream identified by SO_MARK, the client's address preserved to the server, fail closed without a
/// proxy, and marks that pods cannot forge.
/// </summary>
public sealed class ProxyRedirectTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Redirect_without_a_listening_proxy_is_dropped_and_reported()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Redirect(L7Protocol.Http)), AllowAll(TrafficDirection.Egress));
        using var events = new EventLog(lab.Datapath);

        Assert.False(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.DeniedTimeout));

        var drop = await events.WaitFor(e => e.Type == DatapathEventType.Drop && e.DestinationPort == echo.Port, TimeSpan.FromSeconds(2));
        Assert.NotNull(drop);
        Assert.Equal(DropReason.ProxyLookupFailed, drop.DropReason);
        Assert.Equal(ProxyPorts.DefaultHttp, drop.ProxyPort);
        Assert.Equal(client.Namespace.HostInterface, drop.InterfaceName);
        Assert.Empty(echo.Peers);
        Assert.DoesNotContain(lab.Datapath.ListConntrack(), e => e.DestinationPort == echo.Port);
    }

    [Theory]
    [InlineData(TrafficDirection.Ingress)]
    [InlineData(TrafficDirection.Egress)]
    public async Task Curl_reaches_the_server_through_the_proxy_with_its_own_address(TrafficDirection redirectingSide)
    {
        TestProxy? proxy = null;
        using var lab = Lab.Create([("client", 1001), ("server", 1002), ("other", 1003)],
            configure: o => o with { ProxyPorts = new ProxyPorts(Http: proxy!.Port) },
            beforeOpen: l =>
            {
                proxy = new TestProxy(l.NodeThread, preserveSourceAddress: true);
                l.Resources.Add(proxy);
            });
        var (client, server, other) = (lab["client"], lab["server"], lab["other"]);
        proxy!.ResolveIdentity = address => lab.Datapath.ResolveIdentity(address).Value;
        proxy.Start();
        var http = new PeerEchoHttpServer(server);
        lab.Resources.Add(http);
        var serverRule = redirectingSide == TrafficDirection.Ingress ? Redirect(L7Protocol.Http) : Allow();
        var clientRule = redirectingSide == TrafficDirection.Egress ? Redirect(L7Protocol.Http) : Allow();
        lab.SetPolicy(client, (Out(server.Identity, Tcp, http.Port), clientRule), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Tcp, http.Port), serverRule), AllowAll(TrafficDirection.Egress));
        lab.SetPolicy(other, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));

        var (code, stdout, stderr) = await Commands.InPod(client, TimeSpan.FromSeconds(20),
            "curl", "-sS", "--max-time", "10", $"http://{server.Name}:{http.Port}/api/v1/users/42");
        output.WriteLine($"curl: {code} {stdout} {stderr}");

        Assert.Equal(0, code);
        Assert.StartsWith($"hello from {server.Name}; client={client.Address}:", stdout);
        var accepted = Assert.Single(proxy.Accepted);
        Assert.Equal(new IPEndPoint(server.Address, http.Port), accepted.OriginalDestination);
        Assert.Equal(client.Address, accepted.Client.Address);
        Assert.Equal(client.Identity.Value, accepted.Identity);
        var conntrack = lab.Datapath.ListConntrack();
        Assert.Contains(conntrack, e => e.Flags.HasFlag(ConntrackFlags.ProxyRedirect) && e.EndpointId == client.EndpointId && e.ProxyPort == proxy.Port);
        Assert.Contains(conntrack, e => e.Flags.HasFlag(ConntrackFlags.ProxyUpstream) && e.EndpointId == server.EndpointId && e.SourceIdentity == client.Identity);

        // Another identity gets nowhere: the server's rule names the client's identity only.
        var denied = await Commands.InPod(other, TimeSpan.FromSeconds(20), "curl", "-sS", "--max-time", "2", $"http://{server.Name}:{http.Port}/");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Single(proxy.Accepted);
    }

    [Fact]
    public async Task The_proxy_upstream_passes_ingress_policy_by_the_identity_in_its_mark()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002), ("other", 1003)]);
        var (client, server, other) = (lab["client"], lab["server"], lab["other"]);
        var http = new PeerEchoHttpServer(server);
        lab.Resources.Add(http);
        lab.SetPolicy(server, (In(client.Identity, Tcp, http.Port), Redirect(L7Protocol.Http)), AllowAll(TrafficDirection.Egress));
        using var events = new EventLog(lab.Datapath);

        // From the node's own address (identity host without a mark): only the mark can make it the client.
        Assert.Equal($"client={Lab.Router}:", await Get(TestProxy.UpstreamSocket(lab.NodeThread, client.Identity.Value, bindTo: null), server, http.Port));
        Assert.Null(await Get(TestProxy.UpstreamSocket(lab.NodeThread, other.Identity.Value, bindTo: null), server, http.Port));
        var wrongIdentity = await events.WaitFor(e => e.Type == DatapathEventType.Drop && e.FromProxy, TimeSpan.FromSeconds(2));
        Assert.NotNull(wrongIdentity);
        Assert.Equal(DropReason.PolicyDenied, wrongIdentity.DropReason);
        Assert.Equal(other.Identity, wrongIdentity.SourceIdentity);

        // Without the proxy's mark the node is just the host identity, and the redirect entry cannot be honoured here.
        var plain = lab.NodeThread.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        Assert.Null(await Get(plain, server, http.Port));
        var unmarked = await events.WaitFor(e => e.Type == DatapathEventType.Drop && !e.FromProxy && e.DestinationPort == http.Port, TimeSpan.FromSeconds(2));
        Assert.NotNull(unmarked);
        Assert.Equal(NumericIdentityOf(1), unmarked.SourceIdentity);
    }

    [Fact]
    public async Task A_pod_cannot_forge_the_proxy_mark()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002), ("intruder", 1003)]);
        var (client, server, intruder) = (lab["client"], lab["server"], lab["intruder"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        lab.SetPolicy(intruder, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        using var events = new EventLog(lab.Datapath);

        // The intruder is root in its namespace and marks its socket as the proxy's upstream for the client's identity.
        using var socket = intruder.Thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.SetRawSocketOption(TestProxy.SolSocket, TestProxy.SoMark, BitConverter.GetBytes(0x0B00 | (int)(client.Identity.Value << 16)));
            return s;
        });
        using var cts = new CancellationTokenSource(Sockets.DeniedTimeout);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await socket.ConnectAsync(new IPEndPoint(server.Address, echo.Port), cts.Token));

        var drop = await events.WaitFor(e => e.Type == DatapathEventType.Drop && e.DestinationPort == echo.Port, TimeSpan.FromSeconds(2));
        Assert.NotNull(drop);
        Assert.Equal(intruder.Identity, drop.SourceIdentity);
        Assert.False(drop.FromProxy);
        Assert.Empty(echo.Peers);
    }

    private static Policy.Identity.NumericIdentity NumericIdentityOf(uint value) => new(value);

    /// <summary>GET / on a socket; returns the "client=ADDRESS:" part of the answer, or null when it does not connect.</summary>
    private static async Task<string?> Get(Socket socket, Pod server, int port)
    {
        using (socket)
        {
            using var cts = new CancellationTokenSource(Sockets.AllowedTimeout);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(server.Address, port), new CancellationTokenSource(Sockets.DeniedTimeout).Token);
                await socket.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
                var buffer = new byte[4096];
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                var text = System.Text.Encoding.ASCII.GetString(buffer, 0, n);
                var start = text.IndexOf("client=", StringComparison.Ordinal);
                return text[start..(text.LastIndexOf(':') + 1)];
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }
}
