using Membrane.Datapath.Events;
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
}
