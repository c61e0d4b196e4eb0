using Membrane.Observer;
using Membrane.Observer.Flows;
using Membrane.Policy.Model;
using Membrane.Proxy;

namespace Membrane.Agent.Flows;

/// <summary>
/// The proxy's event sink: turns each <see cref="L7Event"/> into a Hubble L7 flow (request, response, denial, error)
/// and publishes it. Called on socket threads: it never blocks (the flow ring and the metrics never wait) and, once
/// the policy lists are interned, allocates nothing. A denied request is DROPPED with <c>POLICY_DENIED</c> and names the
/// policy whose L7 rules applied, marked default deny (none of its rules matched the request).
/// </summary>
internal sealed class ProxyFlowSink(FlowObserver observer, FlowPolicyCache policies, string nodeName) : IL7EventSink
{
    private long _published;

    public long Published => Interlocked.Read(ref _published);

    public void Publish(in L7Event e)
    {
        var flow = ToFlow(e);
        observer.Publish(flow);
        Interlocked.Increment(ref _published);
    }

    public Flow ToFlow(in L7Event e)
    {
        var policy = e.Policy;
        var request = e.Kind is L7EventKind.HttpRequest or L7EventKind.KafkaRequest;
        var response = e.Kind is L7EventKind.HttpResponse or L7EventKind.KafkaResponse;
        var direction = DirectionOf(e);
        var verdict = e.Verdict switch
        {
            L7Verdict.Denied when response => Verdict.Forwarded,
            L7Verdict.Denied => Verdict.Dropped,
            L7Verdict.Error => Verdict.Error,
            _ => Verdict.Forwarded,
        };
        var connectionDenied = e.Kind == L7EventKind.ConnectionDenied;
        IReadOnlyList<FlowPolicy>? decided = null;
        if (connectionDenied)
        {
            decided = policy is null ? null : policies.ForPolicies(policy.L4DecidedBy);
        }
        else if (!response && e.DecidedBy is { } by)
        {
            decided = policies.ForPolicy(by, defaultDeny: verdict == Verdict.Dropped);
        }

        var ingress = direction == FlowTrafficDirection.Ingress;
        var dropped = verdict == Verdict.Dropped;
        var client = e.Connection.Client;
        var server = e.Connection.OriginalDestination;
        return new Flow
        {
            TimeUnixNanos = e.TimestampUnixNs,
            Verdict = verdict,
            DropReason = dropped ? DropReason.PolicyDenied : DropReason.None,
            IP = new FlowIP { Source = client.Address, Destination = server.Address },
            L4 = Layer4.Tcp((ushort)client.Port, (ushort)server.Port),
            Source = Side(policy?.Source),
            Destination = Side(policy?.Destination),
            Type = connectionDenied ? FlowType.L3L4 : FlowType.L7,
            NodeName = nodeName,
            L7 = connectionDenied ? null : Layer7Of(e, request),
            IsReply = response,
            EventType = connectionDenied
                ? new CiliumEventType(MonitorMessageType.Drop, DropReason.PolicyDenied.Code)
                : new CiliumEventType(MonitorMessageType.AccessLog, 0),
            TrafficDirection = direction,
            ProxyPort = (uint)e.Connection.ListenerPort,
            Hash = FlowHash.Of(client.Address, (ushort)client.Port, server.Address, (ushort)server.Port, 6),
            Summary = e.Verdict == L7Verdict.Error ? e.Detail : null,
            IngressAllowedBy = !dropped && ingress ? decided : null,
            EgressAllowedBy = !dropped && !ingress ? decided : null,
            IngressDeniedBy = dropped && ingress ? decided : null,
            EgressDeniedBy = dropped && !ingress ? decided : null,
        };
    }

    /// <summary>
    /// The side whose rules decided: the denying side for denials; otherwise ingress when the destination's ingress
    /// carries L7 rules (the usual case: the server's policy), egress when only the source's does, else the side of
    /// the local endpoint.
    /// </summary>
    private static FlowTrafficDirection DirectionOf(in L7Event e)
    {
        if (e.DeniedDirection is { } denied)
        {
            return denied == TrafficDirection.Ingress ? FlowTrafficDirection.Ingress : FlowTrafficDirection.Egress;
        }

        var p = e.Policy;
        if (p is null)
        {
            return FlowTrafficDirection.Unknown;
        }

        if (p.HttpIngress is not null || p.KafkaIngress is not null)
        {
            return FlowTrafficDirection.Ingress;
        }

        if (p.HttpEgress is not null || p.KafkaEgress is not null)
        {
            return FlowTrafficDirection.Egress;
        }

        return p.Destination.EndpointId != 0 ? FlowTrafficDirection.Ingress : FlowTrafficDirection.Egress;
    }

    private static Layer7 Layer7Of(in L7Event e, bool request)
    {
        var type = request ? L7FlowType.Request : L7FlowType.Response;
        if (e.Kind is L7EventKind.KafkaRequest or L7EventKind.KafkaResponse)
        {
            return new Layer7
            {
                Type = type,
                LatencyNs = (ulong)Math.Max(0, e.LatencyNs),
                Kafka = new KafkaInfo
                {
                    ApiKey = e.KafkaApiKey,
                    ApiVersion = e.KafkaApiVersion,
                    CorrelationId = e.KafkaCorrelationId,
                    ErrorCode = e.KafkaErrorCode,
                    Topic = e.KafkaTopics is { Count: > 0 } topics ? topics[0] : null,
                    DeniedTopics = e.KafkaDeniedTopics is { Count: > 0 } denied ? string.Join(',', denied) : null,
                },
            };
        }

        return new Layer7
        {
            Type = e.Kind == L7EventKind.ProtocolError ? L7FlowType.Request : type,
            LatencyNs = (ulong)Math.Max(0, e.LatencyNs),
            Http = new HttpInfo
            {
                Code = e.HttpStatus > 0 ? (uint)e.HttpStatus : 0,
                Method = e.HttpMethod,
                Url = e.HttpUrl,
                Protocol = e.HttpProtocol,
            },
        };
    }

    private static FlowEndpoint Side(PeerInfo? peer) => peer is null
        ? default
        : new FlowEndpoint
        {
            Id = peer.EndpointId,
            Identity = peer.Identity,
            Namespace = peer.Namespace,
            PodName = peer.PodName,
            Labels = peer.Labels,
        };
}
