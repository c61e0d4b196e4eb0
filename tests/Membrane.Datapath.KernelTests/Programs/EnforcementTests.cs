using System.Net;
using System.Net.Sockets;
using Membrane.Datapath.Events;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Programs;

/// <summary>Basic enforcement through the real programs on real veths: default deny, allow, deny per direction.</summary>
public sealed class EnforcementTests
{
    [Fact]
    public async Task Default_deny_then_allow_both_directions_opens_the_connection()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var client = lab["client"];
        var server = lab["server"];
        using var echo = new TcpEchoServer(server);

        Assert.False(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.DeniedTimeout));

        lab.SetPolicy(client, (Out(server.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Ingress));
        Assert.False(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.DeniedTimeout));

        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
    }

    [Fact]
    public async Task A_pod_sending_from_an_address_that_is_not_its_own_is_dropped()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        await Commands.Run("ip", ["-n", client.Namespace.Name, "addr", "add", "10.244.1.99/32", "dev", "eth0"], TimeSpan.FromSeconds(10));
        using var events = new EventLog(lab.Datapath);

        using var spoofed = client.Thread.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.244.1.99"), 0));
            return s;
        });
        using var cts = new CancellationTokenSource(Sockets.DeniedTimeout);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await spoofed.ConnectAsync(new IPEndPoint(server.Address, echo.Port), cts.Token));

        var drop = await events.WaitFor(e => e.Type == DatapathEventType.Drop, TimeSpan.FromSeconds(2));
        Assert.Equal(DropReason.InvalidSourceIp, drop?.DropReason);
        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout), "its own address still works");
    }

    [Fact]
    public async Task Removing_an_endpoint_detaches_it_and_removes_its_state()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
        Assert.Contains(lab.Datapath.ListConntrack(), e => e.EndpointId == server.EndpointId);

        Assert.True(lab.Datapath.RemoveEndpoint(server.EndpointId));

        Assert.DoesNotContain(lab.Datapath.Endpoints, e => e.Id == server.EndpointId);
        Assert.DoesNotContain(lab.Datapath.ListConntrack(), e => e.EndpointId == server.EndpointId);
        Assert.DoesNotContain(lab.Datapath.ListIpcache(), e => e.Prefix.BaseAddress.Equals(server.Address));
        Assert.False(Directory.Exists(Path.Combine(lab.Datapath.PinRoot, "ep", server.EndpointId.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.False(lab.Datapath.RemoveEndpoint(server.EndpointId));
        var attached = lab.NodeThread.Run(() =>
        {
            var ifindex = Membrane.Datapath.Interop.Libc.InterfaceIndex(server.Namespace.HostInterface);
            return Membrane.Datapath.Interop.Libbpf.TcxProgramIds(ifindex, ingress: true).Length + Membrane.Datapath.Interop.Libbpf.TcxProgramIds(ifindex, ingress: false).Length;
        });
        Assert.Equal(0, attached);
        Assert.Equal(2, lab.Datapath.AttachedProgramIds(client.EndpointId).Count);
        // The client still enforces its egress; the server is no longer an endpoint (world to the client's egress).
        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
    }
}
