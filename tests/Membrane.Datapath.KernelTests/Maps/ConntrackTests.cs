using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Maps;

/// <summary>Conntrack entries as C# lists them, the TCP states, expiry, garbage collection and tuple reuse.</summary>
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

    /// <summary>
    /// A SYN whose tuple is still tracked (the previous connection on it was reset: its entries are closing, or
    /// already expired but not collected) reopens those entries. Both hooks' entries must then be exactly what a
    /// connection on a never-seen tuple gets: nothing of the previous connection's counters, flags or age survives.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_on_a_tuple_still_tracked_gets_the_entries_of_a_new_connection(bool expired)
    {
        var timeouts = new ConntrackTimeouts(TimeSpan.FromHours(6), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(expired ? 1 : 60), TimeSpan.FromSeconds(60));
        using var lab = Lab.Create([("client", 1001), ("server", 1002)], o => o with { ConntrackTimeouts = timeouts });
        var (client, server) = (lab["client"], lab["server"]);
        using var tcp = new TcpEchoServer(server);
        lab.SetPolicy(client, (Out(server.Identity, Tcp, (ushort)tcp.Port), Allow()), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)tcp.Port), Allow()), AllowAll(TrafficDirection.Egress));

        var first = await Sockets.TryConnectTcp(client, server.Address, tcp.Port, Sockets.AllowedTimeout);
        Assert.NotNull(first);
        var localPort = first.Local.Port;
        for (var i = 0; i < 20; i++)
        {
            Assert.True(await first.RoundTrip(Sockets.AllowedTimeout));
        }

        first.Reset();
        await Task.Delay(200);
        var old = Tuple(lab, localPort, tcp.Port);
        Assert.Equal(2, old.Count);
        Assert.All(old, e => Assert.True(e.ForwardPackets >= 20 && e.Flags.HasFlag(ConntrackFlags.Reset), $"{e}"));

        // Long enough for the entries to age past what a new one can show (ages have whole-second resolution) and,
        // with a 1 s closing lifetime, to expire.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.All(Tuple(lab, localPort, tcp.Port), e => Assert.Equal(expired ? ConntrackState.Expired : ConntrackState.Closing, e.State));

        using var reopened = await Sockets.TryConnectTcp(client, server.Address, tcp.Port, Sockets.AllowedTimeout, localPort);
        using var fresh = await Sockets.TryConnectTcp(client, server.Address, tcp.Port, Sockets.AllowedTimeout);
        Assert.NotNull(reopened);
        Assert.NotNull(fresh);
        Assert.True(await reopened.RoundTrip(Sockets.AllowedTimeout));
        Assert.True(await fresh.RoundTrip(Sockets.AllowedTimeout));
        await Task.Delay(200);

        var again = Tuple(lab, localPort, tcp.Port);
        var reference = Tuple(lab, fresh.Local.Port, tcp.Port);
        Assert.Equal(2, again.Count);
        Assert.Equal(2, reference.Count);
        foreach (var direction in (TrafficDirection[])[TrafficDirection.Egress, TrafficDirection.Ingress])
        {
            var e = again.Single(x => x.Direction == direction);
            var r = reference.Single(x => x.Direction == direction);
            Assert.Equal(ConntrackState.Established, e.State);
            Assert.Equal(r.Flags, e.Flags);
            Assert.Equal(r.ForwardTcpFlags, e.ForwardTcpFlags);
            Assert.Equal(r.ReplyTcpFlags, e.ReplyTcpFlags);
            Assert.Equal((r.EndpointId, r.SourceIdentity, r.DestinationIdentity, r.PolicyCookie, r.PolicyGeneration, r.ProxyPort),
                (e.EndpointId, e.SourceIdentity, e.DestinationIdentity, e.PolicyCookie, e.PolicyGeneration, e.ProxyPort));
            Assert.InRange(e.ForwardPackets, 1UL, 6UL);
            Assert.InRange(e.ReplyPackets, 1UL, 6UL);
            Assert.True(e.Age <= TimeSpan.FromSeconds(1), $"age {e.Age}: the entry kept the previous connection's creation time");
            Assert.True(e.ExpiresIn > TimeSpan.FromHours(5.9), $"expires in {e.ExpiresIn}");
        }
    }

    private static List<ConntrackEntry> Tuple(Lab lab, int sourcePort, int destinationPort) =>
        lab.Datapath.ListConntrack().Where(e => e.Protocol == Tcp && e.SourcePort == sourcePort && e.DestinationPort == destinationPort).ToList();
}
