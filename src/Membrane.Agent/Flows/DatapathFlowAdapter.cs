using System.Net;
using System.Threading.Channels;
using Membrane.Agent.Endpoints;
using Membrane.Datapath.Events;
using Membrane.Observer;
using Membrane.Observer.Flows;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Repository;
using DatapathDropReason = Membrane.Datapath.Events.DropReason;
using DatapathPolicyMatchType = Membrane.Datapath.Events.PolicyMatchType;
using DatapathTraceObservationPoint = Membrane.Datapath.Events.TraceObservationPoint;
using DropReason = Membrane.Observer.Flows.DropReason;
using PolicyMatchType = Membrane.Observer.Flows.PolicyMatchType;
using TcpFlags = Membrane.Observer.Flows.TcpFlags;
using TraceObservationPoint = Membrane.Observer.Flows.TraceObservationPoint;
using TraceReason = Membrane.Observer.Flows.TraceReason;
using TrafficDirection = Membrane.Policy.Model.TrafficDirection;

namespace Membrane.Agent.Flows;

/// <summary>
/// Turns the datapath's kernel events into Observer flows (Hubble's fields) and publishes them. Runs on its own task,
/// draining the datapath's bounded event queue, so a burst never blocks the datapath's ring-buffer reader (a full
/// queue is counted as lost, and shown by <c>status</c>). Every flow names the policy that decided it: the cookie's
/// policies for allowed and explicitly denied traffic, and for a default-deny drop (133) the policies that put the
/// endpoint's direction into default deny.
/// </summary>
internal sealed class DatapathFlowAdapter(
    FlowObserver observer,
    Func<AgentView> view,
    Func<ushort, EndpointPolicy?> endpointPolicy,
    FlowPolicyCache policies,
    bool enforcementAlways,
    string nodeName)
{
    private long _published;

    public long Published => Interlocked.Read(ref _published);

    public async Task RunAsync(ChannelReader<DatapathEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            while (await events.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (events.TryRead(out var e))
                {
                    var flow = ToFlow(e);
                    observer.Publish(flow);
                    Interlocked.Increment(ref _published);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public Flow ToFlow(DatapathEvent e)
    {
        var current = view();
        var direction = e.Direction == TrafficDirection.Ingress ? FlowTrafficDirection.Ingress : FlowTrafficDirection.Egress;
        var (verdict, eventType) = e.Type switch
        {
            DatapathEventType.Drop => (Verdict.Dropped, new CiliumEventType(MonitorMessageType.Drop, (int)e.DropReason)),
            DatapathEventType.PolicyVerdict => (PolicyVerdictOf(e), new CiliumEventType(MonitorMessageType.PolicyVerdict, 0)),
            _ => (Verdict.Forwarded, new CiliumEventType(MonitorMessageType.Trace,
                MonitorMessageType.SubTypeFromTraceObservationPoint(ObservationPoint(e.ObservationPoint)))),
        };
        var denied = verdict == Verdict.Dropped;
        IReadOnlyList<FlowPolicy>? decided = null;
        if (denied)
        {
            decided = e.DropReason switch
            {
                DatapathDropReason.PolicyDeny => policies.ForCookie(e.PolicyCookie, e.Policies),
                DatapathDropReason.PolicyDenied => DefaultDeny(e.EndpointId, e.Direction),
                _ => null,
            };
        }
        else
        {
            decided = policies.ForCookie(e.PolicyCookie, e.Policies);
        }

        var ingress = e.Direction == TrafficDirection.Ingress;
        return new Flow
        {
            TimeUnixNanos = Flow.ToUnixNanos(e.Time),
            Verdict = verdict,
            DropReason = denied ? new DropReason((byte)e.DropReason) : DropReason.None,
            IP = new FlowIP { Source = e.Source, Destination = e.Destination },
            L4 = Layer4Of(e),
            Source = Side(current, e.Source, e.SourceIdentity),
            Destination = Side(current, e.Destination, e.DestinationIdentity),
            Type = FlowType.L3L4,
            NodeName = nodeName,
            IsReply = e.IsReply,
            EventType = eventType,
            TrafficDirection = direction,
            PolicyMatchType = e.Type == DatapathEventType.PolicyVerdict ? MatchType(e.MatchType) : PolicyMatchType.None,
            TraceObservationPoint = e.Type == DatapathEventType.Trace ? ObservationPoint(e.ObservationPoint) : TraceObservationPoint.Unknown,
            TraceReason = e.Type == DatapathEventType.Trace ? (TraceReason)(int)e.TraceReason : TraceReason.Unknown,
            Interface = new FlowInterface((uint)e.InterfaceIndex, e.InterfaceName),
            ProxyPort = e.ProxyPort,
            Hash = e.Protocol == 1 ? FlowHash.Of(e.Source, 0, e.Destination, 0, e.Protocol) : FlowHash.Of(e.Source, e.SourcePort, e.Destination, e.DestinationPort, e.Protocol),
            IngressAllowedBy = !denied && ingress ? decided : null,
            EgressAllowedBy = !denied && !ingress ? decided : null,
            IngressDeniedBy = denied && ingress ? decided : null,
            EgressDeniedBy = denied && !ingress ? decided : null,
        };
    }

    private IReadOnlyList<FlowPolicy>? DefaultDeny(ushort endpointId, TrafficDirection direction)
    {
        var policy = endpointPolicy(endpointId);
        return policy is null ? null : policies.ForDefaultDeny(policy[direction].DefaultDenyBy, enforcementAlways);
    }

    private static Verdict PolicyVerdictOf(DatapathEvent e) => e.Verdict switch
    {
        PolicyVerdict.Allow => Verdict.Forwarded,
        PolicyVerdict.Redirect => Verdict.Redirected,
        _ => Verdict.Dropped,
    };

    private static PolicyMatchType MatchType(DatapathPolicyMatchType match) => (PolicyMatchType)(int)match;

    private static TraceObservationPoint ObservationPoint(DatapathTraceObservationPoint point) => (TraceObservationPoint)(int)point;

    private static Layer4 Layer4Of(DatapathEvent e) => e.Protocol switch
    {
        6 => Layer4.Tcp(e.SourcePort, e.DestinationPort, (TcpFlags)(ushort)e.TcpFlags),
        17 => Layer4.Udp(e.SourcePort, e.DestinationPort),
        132 => Layer4.Sctp(e.SourcePort, e.DestinationPort),
        1 => Layer4.IcmpV4(e.IcmpType, e.IcmpCode),
        _ => default,
    };

    private static FlowEndpoint Side(AgentView view, IPAddress address, NumericIdentity identity)
    {
        if (view.ByAddress(address) is { } local)
        {
            return new FlowEndpoint
            {
                Id = local.Id,
                Identity = identity.Value,
                Namespace = local.Namespace,
                PodName = local.PodName,
                Labels = local.Labels,
            };
        }

        return new FlowEndpoint { Identity = identity.Value, Labels = view.LabelsOf(identity.Value) };
    }
}
