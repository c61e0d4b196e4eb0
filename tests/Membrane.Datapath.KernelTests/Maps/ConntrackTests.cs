using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Maps;

/// <summary>Conntrack entries as C# lists them, the TCP states, expiry and garbage collection.</summary>
public sealed class ConntrackTests
{
    [Fact]
    public async Task Entries_carry_both_directions_identities_and_counters_and_expire_into_garbage_collection()
    {
        var timeouts = new ConntrackTimeouts(TimeSpan.FromHours(6), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));
        using var lab = Lab.Create([("client", 1001), ("server", 1002)], o => o with { ConntrackTimeouts = timeouts });
        var (client, server) = (lab["client"], lab["server"]);
        using var udp = new UdpEchoServer(server);
        using var tcp = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Udp, (ushort)udp.Port), Allow()), (In(client.Identity, Tcp, (ushort)tcp.Port), Allow()), AllowAll(TrafficDirection.Egress));

        Assert.True(await Sockets.UdpWorks(client, server.Address, udp.Port, Sockets.AllowedTimeout));
        using (var connection = await Sockets.TryConnectTcp(client, server.Address, tcp.Port, Sockets.AllowedTimeout))
        {
            Assert.NotNull(connection);
            Assert.True(await connection.RoundTrip(Sockets.AllowedTimeout));
            var open = lab.Datapath.ListConntrack().Where(e => e.DestinationPort == tcp.Port).ToList();
            Assert.Equal(2, open.Count);
            Assert.All(open, e => Assert.Equal(ConntrackState.Established, e.State));
            Assert.All(open, e => Assert.InRange(e.ExpiresIn, TimeSpan.FromHours(5.9), TimeSpan.FromHours(6)));
        }

        await Task.Delay(300);
        var closed = lab.Datapath.ListConntrack().Where(e => e.DestinationPort == tcp.Port).ToList();
        Assert.All(closed, e => Assert.Equal(ConntrackState.Closing, e.State));
        Assert.All(closed, e => Assert.True(e.ForwardTcpFlags.HasFlag(TcpFlags.Fin) && e.ReplyTcpFlags.HasFlag(TcpFlags.Fin)));

        var flows = lab.Datapath.ListConntrack().Where(e => e.Protocol == Udp && e.DestinationPort == udp.Port).ToList();
        var egress = Assert.Single(flows, e => e.Direction == TrafficDirection.Egress);
        var ingress = Assert.Single(flows, e => e.Direction == TrafficDirection.Ingress);
        Assert.Equal(client.EndpointId, egress.EndpointId);
        Assert.Equal(server.EndpointId, ingress.EndpointId);
        Assert.All(flows, e =>
        {
            Assert.Equal(client.Address, e.Source);
            Assert.Equal(server.Address, e.Destination);
            Assert.Equal(client.Identity, e.SourceIdentity);
            Assert.Equal(server.Identity, e.DestinationIdentity);
            Assert.Equal(1UL, e.ForwardPackets);
            Assert.Equal(1UL, e.ReplyPackets);
            Assert.Equal(ConntrackState.Established, e.State);
        });

        await Task.Delay(TimeSpan.FromSeconds(3.2));
        Assert.All(lab.Datapath.ListConntrack().Where(e => e.Protocol == Udp), e => Assert.Equal(ConntrackState.Expired, e.State));
        Assert.True(lab.Datapath.CollectConntrackGarbage() >= 2);
        Assert.DoesNotContain(lab.Datapath.ListConntrack(), e => e.Protocol == Udp);
        Assert.Equal(0, lab.Datapath.CollectConntrackGarbage() - lab.Datapath.ListConntrack().Count(e => e.State == ConntrackState.Expired));
    }
}
