using System.Net;
using Membrane.Datapath.Events;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Xunit.Abstractions;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Events;

/// <summary>Kernel events reach C# typed and complete: drops, policy verdicts and traces; overflow is counted.</summary>
public sealed class EventContentTests(ITestOutputHelper output)
{
    private static readonly PolicyRef DenyDb = new("CiliumNetworkPolicy", "shop", "deny-db");

    [Fact]
    public async Task A_denied_connection_produces_a_drop_event_with_identities_ports_reason_and_interface()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, (Out(server.Identity, Tcp, (ushort)echo.Port), Deny(DenyDb)), (Out(0), Allow()), AllowAll(TrafficDirection.Ingress));
        using var events = new EventLog(lab.Datapath);
        var before = DateTimeOffset.UtcNow;

        var connection = await Sockets.TryConnectTcp(client, server.Address, echo.Port, Sockets.DeniedTimeout);
        Assert.Null(connection);

        var drop = await events.WaitFor(e => e.Type == DatapathEventType.Drop, TimeSpan.FromSeconds(2));
        Assert.NotNull(drop);
        output.WriteLine(EventLog.Format(drop));
        Assert.Equal(DropReason.PolicyDeny, drop.DropReason);
        Assert.Equal(TrafficDirection.Egress, drop.Direction);
        Assert.Equal(client.EndpointId, drop.EndpointId);
        Assert.Equal(client.Identity, drop.SourceIdentity);
        Assert.Equal(server.Identity, drop.DestinationIdentity);
        Assert.Equal(client.Address, drop.Source);
        Assert.Equal(server.Address, drop.Destination);
        Assert.Equal(Tcp, drop.Protocol);
        Assert.InRange(drop.SourcePort, 1024, 65535);
        Assert.Equal(echo.Port, drop.DestinationPort);
        Assert.Equal(TcpFlags.Syn, drop.TcpFlags);
        Assert.Equal(client.Namespace.HostInterface, drop.InterfaceName);
        Assert.Equal(lab.Datapath.Endpoints.Single(e => e.Id == client.EndpointId).InterfaceIndex, drop.InterfaceIndex);
        Assert.Equal(PolicyMatchType.L3L4, drop.MatchType);
        Assert.Equal(DenyDb, Assert.Single(drop.Policies));
        Assert.NotEqual(0u, drop.PolicyCookie);
        Assert.InRange(drop.Time, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.True(drop.PacketLength >= 54);

        var counters = lab.Datapath.GetStatus().Drops;
        Assert.Contains(counters, c => c.Reason == DropReason.PolicyDeny && c.Direction == TrafficDirection.Egress && c.Packets >= 1);
    }

    [Fact]
    public async Task Verdict_and_trace_events_describe_a_connection_from_both_endpoints()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)],
            o => o with { PolicyVerdictEvents = true, TraceEvents = TraceEventLevel.NewFlowsAndStateChanges });
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, (Out(server.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(0, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        using var events = new EventLog(lab.Datapath);

        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
        await Task.Delay(200);
        events.WriteTo(output);

        var verdicts = events.All.Where(e => e.Type == DatapathEventType.PolicyVerdict && e.DestinationPort == echo.Port).ToList();
        Assert.Contains(verdicts, e => e.Verdict == PolicyVerdict.Allow && e.Direction == TrafficDirection.Egress && e.EndpointId == client.EndpointId && e.MatchType == PolicyMatchType.L3L4);
        Assert.Contains(verdicts, e => e.Verdict == PolicyVerdict.Allow && e.Direction == TrafficDirection.Ingress && e.EndpointId == server.EndpointId && e.MatchType == PolicyMatchType.L4Only);
        var traces = events.All.Where(e => e.Type == DatapathEventType.Trace).ToList();
        Assert.Contains(traces, e => e.ObservationPoint == TraceObservationPoint.FromEndpoint && e.TraceReason == TraceReason.New && e.TcpFlags == TcpFlags.Syn);
        Assert.Contains(traces, e => e.ObservationPoint == TraceObservationPoint.ToEndpoint && e.TraceReason == TraceReason.New && e.InterfaceName == server.Namespace.HostInterface);
        Assert.Contains(traces, e => e.TraceReason == TraceReason.Reply && e.IsReply && e.Source.Equals(server.Address) && e.TcpFlags == (TcpFlags.Syn | TcpFlags.Ack));
    }

    [Fact]
    public async Task A_full_ring_buffer_loses_events_but_never_traffic_and_the_loss_is_counted()
    {
        // Nobody reads the 4 KiB ring buffer and every packet produces a trace event: it fills within a few packets.
        using var lab = Lab.Create([("client", 1001), ("server", 1002)],
            o => o with { ConsumeEvents = false, EventBufferBytes = 4096, TraceEvents = TraceEventLevel.AllPackets });
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));

        using var connection = await Sockets.TryConnectTcp(client, server.Address, echo.Port, Sockets.AllowedTimeout);
        Assert.NotNull(connection);
        for (var i = 0; i < 200; i++)
        {
            Assert.True(await connection.RoundTrip(Sockets.AllowedTimeout), $"round trip {i}");
        }

        var status = lab.Datapath.GetStatus();
        Assert.True(status.EventsLost > 100, $"events lost: {status.EventsLost}");
        Assert.True(status.ForwardedPackets > 400, $"forwarded: {status.ForwardedPackets}");
    }
}
