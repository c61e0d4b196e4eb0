using System.Net;

namespace Membrane.Observer.Flows;

/// <summary>
/// One observed flow: Hubble's <c>flow.Flow</c> with its field meanings and enum values (reference §6.1), as a value
/// type so that producers build it on the stack and the <see cref="FlowRing"/> copies it into a preallocated slot:
/// writing a flow allocates nothing when the strings, label sets and policy lists it references already exist.
/// </summary>
/// <remarks>
/// Every flow names the policies that decided it: <see cref="IngressAllowedBy"/>/<see cref="EgressAllowedBy"/> for
/// allowed traffic, <see cref="IngressDeniedBy"/>/<see cref="EgressDeniedBy"/> for denied traffic, including default
/// deny (see <see cref="FlowPolicy"/>). An empty allowed list means the direction has no policy enforcement.
/// Members below the Hubble fields (<see cref="Hash"/>, <see cref="OriginalIP"/>) are Membrane's, used by the monitor
/// format only; they never appear in Hubble JSON.
/// </remarks>
public readonly struct Flow
{
    /// <summary>Hubble <c>time</c>: when the event happened, Unix epoch nanoseconds (0: stamped by the ring on write).</summary>
    public long TimeUnixNanos { get; init; }

    /// <summary>Hubble <c>uuid</c> (empty: stamped by the ring on write).</summary>
    public Guid Uuid { get; init; }

    /// <summary>Hubble <c>verdict</c>.</summary>
    public Verdict Verdict { get; init; }

    /// <summary>Hubble <c>drop_reason_desc</c> (and the deprecated numeric <c>drop_reason</c>); only for dropped flows.</summary>
    public DropReason DropReason { get; init; }

    /// <summary>Hubble <c>auth_type</c>.</summary>
    public AuthType AuthType { get; init; }

    /// <summary>Hubble <c>IP</c>.</summary>
    public FlowIP IP { get; init; }

    /// <summary>Hubble <c>l4</c>.</summary>
    public Layer4 L4 { get; init; }

    /// <summary>Hubble <c>source</c>.</summary>
    public FlowEndpoint Source { get; init; }

    /// <summary>Hubble <c>destination</c>.</summary>
    public FlowEndpoint Destination { get; init; }

    /// <summary>Hubble <c>Type</c>: L3_L4 for datapath events, L7 for proxy events.</summary>
    public FlowType Type { get; init; }

    /// <summary>Hubble <c>node_name</c>.</summary>
    public string? NodeName { get; init; }

    /// <summary>Hubble <c>source_names</c>: DNS names of the source address.</summary>
    public IReadOnlyList<string>? SourceNames { get; init; }

    /// <summary>Hubble <c>destination_names</c>: DNS names of the destination address.</summary>
    public IReadOnlyList<string>? DestinationNames { get; init; }

    /// <summary>Hubble <c>l7</c>: set if and only if <see cref="Type"/> is L7.</summary>
    public Layer7? L7 { get; init; }

    /// <summary>Hubble <c>is_reply</c>: true for the reply direction; null when unknown.</summary>
    public bool? IsReply { get; init; }

    /// <summary>Hubble <c>event_type</c>.</summary>
    public CiliumEventType EventType { get; init; }

    /// <summary>Hubble <c>source_service</c>.</summary>
    public FlowService? SourceService { get; init; }

    /// <summary>Hubble <c>destination_service</c>.</summary>
    public FlowService? DestinationService { get; init; }

    /// <summary>Hubble <c>traffic_direction</c>: the direction relative to the endpoint whose policy applied.</summary>
    public FlowTrafficDirection TrafficDirection { get; init; }

    /// <summary>Hubble <c>policy_match_type</c> (policy-verdict events).</summary>
    public PolicyMatchType PolicyMatchType { get; init; }

    /// <summary>Hubble <c>trace_observation_point</c> (trace events).</summary>
    public TraceObservationPoint TraceObservationPoint { get; init; }

    /// <summary>Hubble <c>trace_reason</c> (trace events).</summary>
    public TraceReason TraceReason { get; init; }

    /// <summary>Hubble <c>file</c>: where in the BPF sources a drop happened.</summary>
    public FlowFileInfo? File { get; init; }

    /// <summary>Hubble <c>interface</c>.</summary>
    public FlowInterface? Interface { get; init; }

    /// <summary>Hubble <c>proxy_port</c>: the proxy port a redirected flow went to.</summary>
    public uint ProxyPort { get; init; }

    /// <summary>Hubble <c>Summary</c>; null lets printers derive Hubble's summary from the other fields.</summary>
    public string? Summary { get; init; }

    /// <summary>Hubble <c>egress_allowed_by</c>.</summary>
    public IReadOnlyList<FlowPolicy>? EgressAllowedBy { get; init; }

    /// <summary>Hubble <c>ingress_allowed_by</c>.</summary>
    public IReadOnlyList<FlowPolicy>? IngressAllowedBy { get; init; }

    /// <summary>Hubble <c>egress_denied_by</c> (includes default-deny attribution).</summary>
    public IReadOnlyList<FlowPolicy>? EgressDeniedBy { get; init; }

    /// <summary>Hubble <c>ingress_denied_by</c> (includes default-deny attribution).</summary>
    public IReadOnlyList<FlowPolicy>? IngressDeniedBy { get; init; }

    /// <summary>Hubble <c>policy_log</c>: the <c>log.value</c> of the rules that decided the flow.</summary>
    public IReadOnlyList<string>? PolicyLog { get; init; }

    /// <summary>Membrane: the connection's <see cref="FlowHash"/> (<c>flow 0x…</c> in monitor lines), the same for kernel and proxy flows of one connection; 0 when unknown.</summary>
    public uint Hash { get; init; }

    /// <summary>Membrane: the original address before reverse NAT (<c>orig-ip</c> in monitor trace lines), or null.</summary>
    public IPAddress? OriginalIP { get; init; }

    /// <summary>The wall-clock time of <see cref="TimeUnixNanos"/> (100 ns resolution).</summary>
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeUnixNanos / 100);

    /// <summary>Converts a wall-clock time to Unix epoch nanoseconds.</summary>
    public static long ToUnixNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
