using System.Collections.Immutable;
using System.Net;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Events;

/// <summary>Kind of kernel event (Cilium monitor message types).</summary>
public enum DatapathEventType : byte
{
    /// <summary>A packet was dropped.</summary>
    Drop = 1,

    /// <summary>A packet was forwarded (trace point).</summary>
    Trace = 4,

    /// <summary>A policy decision was taken.</summary>
    PolicyVerdict = 5,
}

/// <summary>Where a trace event was observed (values of Hubble's <c>TraceObservationPoint</c>).</summary>
public enum TraceObservationPoint : byte
{
    /// <summary>Not a trace event.</summary>
    Unknown = 0,

    /// <summary>Handed to the L7 proxy.</summary>
    ToProxy = 1,

    /// <summary>To the node's stack.</summary>
    ToStack = 3,

    /// <summary>Sent by an endpoint (from-container).</summary>
    FromEndpoint = 5,

    /// <summary>Sent by the L7 proxy.</summary>
    FromProxy = 6,

    /// <summary>Delivered to an endpoint (to-container).</summary>
    ToEndpoint = 101,
}

/// <summary>Connection state of a traced packet (values of Hubble's <c>TraceReason</c>).</summary>
public enum TraceReason : byte
{
    /// <summary>Unknown.</summary>
    Unknown = 0,

    /// <summary>First packet of a connection.</summary>
    New = 1,

    /// <summary>A packet of an established connection, from its opener.</summary>
    Established = 2,

    /// <summary>A packet of an established connection, to its opener.</summary>
    Reply = 3,

    /// <summary>An ICMP error about a tracked connection.</summary>
    Related = 4,

    /// <summary>A SYN reusing the tuple of a closing connection.</summary>
    Reopened = 5,
}

/// <summary>Which kind of policy entry decided (Cilium's policy-verdict match types).</summary>
public enum PolicyMatchType : byte
{
    /// <summary>No entry (default deny).</summary>
    None = 0,

    /// <summary>Peer identity, any protocol.</summary>
    L3Only = 1,

    /// <summary>Peer identity and port/protocol.</summary>
    L3L4 = 2,

    /// <summary>Any peer, port/protocol.</summary>
    L4Only = 3,

    /// <summary>Any peer, any protocol.</summary>
    All = 4,
}

/// <summary>
/// One kernel event, decoded: everything the flow model needs (Hubble <c>flow.Flow</c> fields: verdict and drop
/// reason, IPs, L4 ports and TCP flags or ICMP type/code, both identities, the endpoint, traffic direction, interface,
/// trace observation point and reason, proxy port, and the policies that decided).
/// </summary>
public sealed record DatapathEvent
{
    /// <summary>Kind of event.</summary>
    public required DatapathEventType Type { get; init; }

    /// <summary>Wall-clock time of the event (converted from the kernel's monotonic clock).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Drop reason (drops; policy verdicts that deny), else <see cref="DropReason.None"/>.</summary>
    public DropReason DropReason { get; init; }

    /// <summary>Decision of a policy verdict event.</summary>
    public PolicyVerdict? Verdict { get; init; }

    /// <summary>Observation point of a trace event.</summary>
    public TraceObservationPoint ObservationPoint { get; init; }

    /// <summary>Connection state of a trace event.</summary>
    public TraceReason TraceReason { get; init; }

    /// <summary>Which entry kind decided (verdict and drop events).</summary>
    public PolicyMatchType MatchType { get; init; }

    /// <summary>Direction relative to <see cref="EndpointId"/>.</summary>
    public required TrafficDirection Direction { get; init; }

    /// <summary>The endpoint whose policy applied.</summary>
    public required ushort EndpointId { get; init; }

    /// <summary>Identity of the packet's source.</summary>
    public required NumericIdentity SourceIdentity { get; init; }

    /// <summary>Identity of the packet's destination.</summary>
    public required NumericIdentity DestinationIdentity { get; init; }

    /// <summary>Source address.</summary>
    public required IPAddress Source { get; init; }

    /// <summary>Destination address.</summary>
    public required IPAddress Destination { get; init; }

    /// <summary>IP protocol (6 TCP, 17 UDP, 132 SCTP, 1 ICMP).</summary>
    public required byte Protocol { get; init; }

    /// <summary>Source port (TCP, UDP, SCTP), else 0.</summary>
    public ushort SourcePort { get; init; }

    /// <summary>Destination port (TCP, UDP, SCTP), else 0.</summary>
    public ushort DestinationPort { get; init; }

    /// <summary>ICMP type (protocol 1), else 0.</summary>
    public byte IcmpType { get; init; }

    /// <summary>ICMP code (protocol 1), else 0.</summary>
    public byte IcmpCode { get; init; }

    /// <summary>TCP flags of the packet.</summary>
    public TcpFlags TcpFlags { get; init; }

    /// <summary>True when the packet belongs to the reply direction of its connection.</summary>
    public bool IsReply { get; init; }

    /// <summary>True when the packet came from the L7 proxy (its identity came from the proxy's mark).</summary>
    public bool FromProxy { get; init; }

    /// <summary>True when the decision re-checked an established connection after a policy change.</summary>
    public bool Revalidated { get; init; }

    /// <summary>Interface index (node network namespace) the packet was seen on.</summary>
    public required int InterfaceIndex { get; init; }

    /// <summary>Name of that interface, when it belongs to a known endpoint.</summary>
    public string? InterfaceName { get; init; }

    /// <summary>Proxy port of a redirect, else 0.</summary>
    public ushort ProxyPort { get; init; }

    /// <summary>Cookie of the policy entry that decided, 0 for none.</summary>
    public uint PolicyCookie { get; init; }

    /// <summary>The policies the cookie names (empty when none or unknown).</summary>
    public ImmutableArray<PolicyRef> Policies { get; init; } = ImmutableArray<PolicyRef>.Empty;

    /// <summary>Length of the packet in bytes.</summary>
    public uint PacketLength { get; init; }
}
