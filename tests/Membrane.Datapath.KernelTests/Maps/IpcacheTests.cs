using System.Net;
using System.Net.Sockets;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Maps;

/// <summary>The ipcache: /32 entries, prefixes (longest match), local endpoint entries, and identities in enforcement.</summary>
public sealed class IpcacheTests
{
    [Fact]
    public async Task Prefix_entries_give_identities_by_longest_match_in_the_kernel_and_in_CSharp()
    {
        using var lab = Lab.Create([("server", 1002)]);
        var server = lab["server"];
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(server, (In(7777, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        var router = new IPNetwork(Lab.Router, 32);

        // The node's address is host (1): not allowed.
        Assert.Equal(NumericIdentity.Host, lab.Datapath.ResolveIdentity(Lab.Router));
        Assert.False(await FromNode(lab, server, echo.Port));

        // As part of a /16 with identity 7777 (and a wider /8 that must lose), it is allowed.
        Assert.True(lab.Datapath.DeleteIpcache(router));
        lab.Datapath.UpsertIpcache(IPNetwork.Parse("10.0.0.0/8"), new NumericIdentity(8888));
        lab.Datapath.UpsertIpcache(IPNetwork.Parse("10.244.0.0/16"), new NumericIdentity(7777));
        Assert.Equal(new NumericIdentity(7777), lab.Datapath.ResolveIdentity(Lab.Router));
        Assert.Equal(new NumericIdentity(8888), lab.Datapath.ResolveIdentity(IPAddress.Parse("10.1.2.3")));
        Assert.Equal(NumericIdentity.World, lab.Datapath.ResolveIdentity(IPAddress.Parse("192.0.2.1")));
        Assert.True(await FromNode(lab, server, echo.Port));

        var entries = lab.Datapath.ListIpcache();
        Assert.Contains(entries, e => e.Prefix == IPNetwork.Parse("10.244.0.0/16") && e.Identity.Value == 7777 && e.EndpointId == 0);
        Assert.Contains(entries, e => e.Prefix == new IPNetwork(server.Address, 32) && e.Identity == server.Identity && e.EndpointId == server.EndpointId);
        Assert.Throws<ArgumentException>(() => lab.Datapath.UpsertIpcache(new IPNetwork(server.Address, 32), new NumericIdentity(5)));
        Assert.Throws<ArgumentException>(() => lab.Datapath.UpsertIpcache(IPNetwork.Parse("fd00::/64"), new NumericIdentity(5)));
    }

    private static async Task<bool> FromNode(Lab lab, Pod server, int port)
    {
        using var socket = lab.NodeThread.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var cts = new CancellationTokenSource(Sockets.DeniedTimeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(server.Address, port), cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
