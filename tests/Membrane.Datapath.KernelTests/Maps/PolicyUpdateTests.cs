using Membrane.Datapath.Events;
using Membrane.Datapath.Interop;
using Membrane.Datapath.Maps;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Maps;

/// <summary>
/// Policy changes on live traffic: removal blocks new connections at once and cuts established ones on their next
/// packet (the documented conntrack rule: established flows are re-checked after every policy change of their
/// endpoint); adding opens them; and updates are atomic (no window in which a half-written policy passes or drops).
/// </summary>
public sealed class PolicyUpdateTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Removing_a_policy_blocks_new_and_established_connections_and_adding_it_opens_them()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)], o => o with { PolicyVerdictEvents = true, TraceEvents = TraceEventLevel.NewFlowsAndStateChanges });
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        using var all = new EventLog(lab.Datapath);
        using var dump = new Disposable(() => all.WriteTo(output));
        var allowIngress = (In(client.Identity, Tcp, (ushort)echo.Port), Allow());
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, allowIngress, AllowAll(TrafficDirection.Egress));

        using var established = await Sockets.TryConnectTcp(client, server.Address, echo.Port, Sockets.AllowedTimeout);
        Assert.NotNull(established);
        Assert.True(await established.RoundTrip(Sockets.AllowedTimeout));
        using var events = new EventLog(lab.Datapath);

        // Remove the allow: the server's ingress is default deny now.
        lab.Datapath.ApplyPolicy(new MapStateDelta(server.EndpointId, [], [allowIngress.Item1]));
        Assert.False(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.DeniedTimeout));
        Assert.False(await established.RoundTrip(Sockets.DeniedTimeout));
        var revalidated = await events.WaitFor(e => e.Type == DatapathEventType.Drop && e.Revalidated && e.DestinationPort == echo.Port, TimeSpan.FromSeconds(2));
        Assert.NotNull(revalidated);
        Assert.Equal(DropReason.PolicyDenied, revalidated.DropReason);

        // Put it back: new connections open at once, and the established one resumes (TCP retransmits get through).
        lab.Datapath.ApplyPolicy(new MapStateDelta(server.EndpointId, [KeyValuePair.Create(allowIngress.Item1, allowIngress.Item2)], []));
        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
        Assert.True(await established.RoundTrip(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Swapping_between_two_allowing_policies_never_drops_and_between_two_denying_ones_never_passes()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        var port = (ushort)echo.Port;
        var blocked = (ushort)(port ^ 1);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));

        // Two ways of allowing `port` and denying `blocked`, with no entry in common: a non-atomic switch (delete the
        // old entries, then add the new) would open a window where `port` is dropped or `blocked` passes.
        var exact = new[] { (In(client.Identity, Tcp, port), Allow()), (In(client.Identity, Tcp, blocked), Deny()), AllowAll(TrafficDirection.Egress) };
        var range = new[] { (In(0, Tcp, port, prefix: 12), Allow()), (In(0, Tcp, blocked), Deny()), (In(client.Identity, Icmp, 8), Allow()), AllowAll(TrafficDirection.Egress) };
        lab.SetPolicy(server, exact);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var swaps = 0;
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                lab.SetPolicy(server, swaps++ % 2 == 0 ? range : exact);
            }
        });
        int allowedFailures = 0, allowedAttempts = 0, blockedPassed = 0, blockedAttempts = 0;
        var allowedLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                allowedAttempts++;
                if (!await Sockets.TcpWorks(client, server.Address, port, TimeSpan.FromSeconds(2)))
                {
                    allowedFailures++;
                }
            }
        });
        var blockedLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Several SYNs in flight at once, each given time enough to be answered if it got through.
                var probes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Sockets.ProbeTcp(client, server.Address, blocked, TimeSpan.FromMilliseconds(500))));
                blockedAttempts += probes.Length;
                blockedPassed += probes.Count(p => p != Reach.Dropped);
            }
        });

        await Task.WhenAll(allowedLoop, blockedLoop);
        await swapper;
        Assert.True(swaps > 20, $"only {swaps} swaps");
        Assert.True(allowedAttempts > 10, $"only {allowedAttempts} attempts");
        Assert.True(blockedAttempts > 10, $"only {blockedAttempts} blocked attempts");
        Assert.Equal(0, allowedFailures);
        Assert.Equal(0, blockedPassed);
    }

    /// <summary>
    /// The two copies of policy facts outside the policy maps follow every update: the endpoint record's prefix
    /// masks (what the endpoint's own decisions probe) and the ipcache hint that its ingress policy has redirect
    /// entries (what from-container checks before evaluating a local destination's ingress policy), also across an
    /// agent restart. The expected masks are computed here from the keys, independently of the datapath's codec.
    /// </summary>
    [Fact]
    public async Task The_endpoint_record_and_the_ipcache_hint_follow_each_policy_update()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        var port = (ushort)echo.Port;
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        var ifindex = lab.NodeThread.Run(() => Libc.InterfaceIndex(server.Namespace.HostInterface));
        var steps = new (string Name, (PolicyKey Key, PolicyEntry Entry)[] Entries, bool Connects)[]
        {
            ("exact port", [(In(client.Identity, Tcp, port), Allow()), AllowAll(TrafficDirection.Egress)], true),
            ("ranges, wildcards, L3", [(In(0, Tcp, port, prefix: 12), Allow()), (In(client.Identity, Udp, 53, prefix: 10), Allow()), (In(1003), Deny()), (Out(0, Tcp, 443), Allow()), (Out(client.Identity), Allow())], true),
            ("ingress redirect", [(In(client.Identity, Tcp, port), Redirect(L7Protocol.Http)), (In(client.Identity, Tcp, 8443), Allow()), AllowAll(TrafficDirection.Egress)], false),
            ("exact port again", [(In(client.Identity, Tcp, port), Allow()), AllowAll(TrafficDirection.Egress)], true),
            ("nothing", [], false),
        };

        using var events = new EventLog(lab.Datapath);
        foreach (var (name, entries, connects) in steps)
        {
            lab.SetPolicy(server, entries);
            Assert.True(lab.Datapath.Map("endpoints").TryLookup((uint)ifindex, out endpoint_info record), name);
            Assert.Equal(ExpectedMeta(entries, TrafficDirection.Ingress), (record.ingress_meta.peer_prefixes, record.ingress_meta.any_prefixes));
            Assert.Equal(ExpectedMeta(entries, TrafficDirection.Egress), (record.egress_meta.peer_prefixes, record.egress_meta.any_prefixes));
            Assert.True(lab.Datapath.Map("ipcache_hosts").TryLookup(AddressCodec.ToNetworkOrder(server.Address), out ipcache_value cached), name);
            var redirect = entries.Any(e => e.Key.Direction == TrafficDirection.Ingress && e.Entry.Verdict == PolicyVerdict.Redirect);
            Assert.Equal(SharedConstants.IPCACHE_F_LOCAL_ENDPOINT | (redirect ? SharedConstants.IPCACHE_F_INGRESS_REDIRECT : 0), cached.flags);
            Assert.Equal((server.Identity.Value, server.EndpointId), (cached.identity, cached.endpoint_id));

            Assert.True(connects == await Sockets.TcpWorks(client, server.Address, port, connects ? Sockets.AllowedTimeout : Sockets.DeniedTimeout), name);
            if (redirect)
            {
                // No proxy listens: the client's from-container, led to the server's ingress policy by the hint,
                // drops with 178. Without the hint the SYN would reach the server's to-container and drop with 179.
                var drop = await events.WaitFor(e => e.Type == DatapathEventType.Drop && e.DestinationPort == port, TimeSpan.FromSeconds(2));
                Assert.NotNull(drop);
                Assert.Equal(DropReason.ProxyLookupFailed, drop.DropReason);
                Assert.Equal(client.Namespace.HostInterface, drop.InterfaceName);

                // A restarted agent must pick up both copies from the kernel: the next step clears the hint and
                // narrows the masks only if it knows they are set.
                events.Dispose();
                lab.Restart();
            }
        }
    }

    /// <summary>Prefix masks of one direction: bit = port prefix length (protocol 0: bit 17), split by identity 0 or
    /// not, plus the redirect bit (shared.h, struct policy_meta).</summary>
    private static (uint Peer, uint Any) ExpectedMeta((PolicyKey Key, PolicyEntry Entry)[] entries, TrafficDirection direction)
    {
        uint peer = 0, any = 0;
        foreach (var (key, entry) in entries.Where(e => e.Key.Direction == direction))
        {
            var bit = key.Protocol == 0 ? 1u << 17 : 1u << key.PortPrefixLength;
            if (key.Identity == 0)
            {
                any |= bit;
            }
            else
            {
                peer |= bit;
            }

            if (entry.Verdict == PolicyVerdict.Redirect)
            {
                any |= 0x80000000;
            }
        }

        return (peer, any);
    }
}
