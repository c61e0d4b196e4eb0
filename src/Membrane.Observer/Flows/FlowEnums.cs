namespace Membrane.Observer.Flows;

/// <summary>Hubble's <c>flow.Verdict</c> (same numbers). There is no DENIED value: a denied request is DROPPED.</summary>
public enum Verdict
{
    /// <summary><c>VERDICT_UNKNOWN</c>: no verdict.</summary>
    Unknown = 0,

    /// <summary><c>FORWARDED</c>: passed on to the next processing entity.</summary>
    Forwarded = 1,

    /// <summary><c>DROPPED</c>: dropped (policy, malformed packet, ...); the reason is <see cref="Flow.DropReason"/>.</summary>
    Dropped = 2,

    /// <summary><c>ERROR</c>: an error occurred while processing (e.g. a malformed request the proxy rejected).</summary>
    Error = 3,

    /// <summary><c>AUDIT</c>: would have been dropped, but policy audit mode let it through.</summary>
    Audit = 4,

    /// <summary><c>REDIRECTED</c>: redirected to the L7 proxy.</summary>
    Redirected = 5,

    /// <summary><c>TRACED</c>: observed at a trace point, no verdict yet.</summary>
    Traced = 6,

    /// <summary><c>TRANSLATED</c>: an address was translated.</summary>
    Translated = 7,
}

/// <summary>Hubble's <c>flow.FlowType</c>.</summary>
public enum FlowType
{
    /// <summary><c>UNKNOWN_TYPE</c>.</summary>
    Unknown = 0,

    /// <summary><c>L3_L4</c>: a packet-level event from the datapath.</summary>
    L3L4 = 1,

    /// <summary><c>L7</c>: a request or response seen by the L7 proxy.</summary>
    L7 = 2,

    /// <summary><c>SOCK</c>: a socket-level event.</summary>
    Sock = 3,
}

/// <summary>Hubble's <c>flow.L7FlowType</c>.</summary>
public enum L7FlowType
{
    /// <summary><c>UNKNOWN_L7_TYPE</c>.</summary>
    Unknown = 0,

    /// <summary><c>REQUEST</c>.</summary>
    Request = 1,

    /// <summary><c>RESPONSE</c>.</summary>
    Response = 2,

    /// <summary><c>SAMPLE</c>.</summary>
    Sample = 3,
}

/// <summary>
/// Hubble's <c>flow.TrafficDirection</c> (0 unknown, 1 ingress, 2 egress). Distinct from
/// <see cref="Membrane.Policy.Model.TrafficDirection"/>, which has no "unknown" and numbers ingress 0.
/// </summary>
public enum FlowTrafficDirection
{
    /// <summary><c>TRAFFIC_DIRECTION_UNKNOWN</c>.</summary>
    Unknown = 0,

    /// <summary><c>INGRESS</c>.</summary>
    Ingress = 1,

    /// <summary><c>EGRESS</c>.</summary>
    Egress = 2,
}

/// <summary>Hubble's <c>flow.IPVersion</c>.</summary>
public enum IPVersion
{
    /// <summary><c>IP_NOT_USED</c>.</summary>
    NotUsed = 0,

    /// <summary><c>IPv4</c>.</summary>
    IPv4 = 1,

    /// <summary><c>IPv6</c>.</summary>
    IPv6 = 2,
}

/// <summary>Hubble's <c>flow.AuthType</c>.</summary>
public enum AuthType
{
    /// <summary><c>DISABLED</c>.</summary>
    Disabled = 0,

    /// <summary><c>SPIRE</c>.</summary>
    Spire = 1,

    /// <summary><c>TEST_ALWAYS_FAIL</c>.</summary>
    TestAlwaysFail = 2,
}

/// <summary>
/// Hubble's <c>flow.TraceObservationPoint</c>. The numbers are Hubble's (TO_ENDPOINT is 101 because 0 means unknown);
/// the monitor sub-type of a trace event uses Cilium's numbering instead (<see cref="MonitorMessageType.TraceObservationPointFromSubType"/>).
/// </summary>
public enum TraceObservationPoint
{
    /// <summary><c>UNKNOWN_POINT</c>.</summary>
    Unknown = 0,

    /// <summary><c>TO_PROXY</c>: towards the L7 proxy.</summary>
    ToProxy = 1,

    /// <summary><c>TO_HOST</c>: towards the host namespace.</summary>
    ToHost = 2,

    /// <summary><c>TO_STACK</c>: towards the host network stack.</summary>
    ToStack = 3,

    /// <summary><c>TO_OVERLAY</c>: towards the tunnel device.</summary>
    ToOverlay = 4,

    /// <summary><c>FROM_ENDPOINT</c>: received from an endpoint.</summary>
    FromEndpoint = 5,

    /// <summary><c>FROM_PROXY</c>: received from the L7 proxy.</summary>
    FromProxy = 6,

    /// <summary><c>FROM_HOST</c>: received from the host namespace.</summary>
    FromHost = 7,

    /// <summary><c>FROM_STACK</c>: received from the host network stack.</summary>
    FromStack = 8,

    /// <summary><c>FROM_OVERLAY</c>: received from the tunnel device.</summary>
    FromOverlay = 9,

    /// <summary><c>FROM_NETWORK</c>: received from a native device.</summary>
    FromNetwork = 10,

    /// <summary><c>TO_NETWORK</c>: towards a native device.</summary>
    ToNetwork = 11,

    /// <summary><c>FROM_CRYPTO</c>: received from decryption.</summary>
    FromCrypto = 12,

    /// <summary><c>TO_CRYPTO</c>: towards encryption.</summary>
    ToCrypto = 13,

    /// <summary><c>TO_ENDPOINT</c>: towards an endpoint.</summary>
    ToEndpoint = 101,
}

/// <summary>Hubble's <c>flow.TraceReason</c>: why a traced packet was forwarded (conntrack state).</summary>
public enum TraceReason
{
    /// <summary><c>TRACE_REASON_UNKNOWN</c>.</summary>
    Unknown = 0,

    /// <summary><c>NEW</c>: a new connection, admitted by policy.</summary>
    New = 1,

    /// <summary><c>ESTABLISHED</c>.</summary>
    Established = 2,

    /// <summary><c>REPLY</c>.</summary>
    Reply = 3,

    /// <summary><c>RELATED</c>.</summary>
    Related = 4,

    /// <summary><c>REOPENED</c> (deprecated upstream).</summary>
    Reopened = 5,

    /// <summary><c>SRV6_ENCAP</c>.</summary>
    Srv6Encap = 6,

    /// <summary><c>SRV6_DECAP</c>.</summary>
    Srv6Decap = 7,

    /// <summary><c>ENCRYPT_OVERLAY</c> (deprecated upstream).</summary>
    EncryptOverlay = 8,
}

/// <summary>Which member of Hubble's <c>Layer4</c> oneof is set; the values are the oneof's field numbers.</summary>
public enum L4Protocol
{
    /// <summary>No layer 4 information.</summary>
    None = 0,

    /// <summary><c>TCP</c>.</summary>
    Tcp = 1,

    /// <summary><c>UDP</c>.</summary>
    Udp = 2,

    /// <summary><c>ICMPv4</c>.</summary>
    IcmpV4 = 3,

    /// <summary><c>ICMPv6</c>.</summary>
    IcmpV6 = 4,

    /// <summary><c>SCTP</c>.</summary>
    Sctp = 5,
}

/// <summary>TCP header flags (Hubble's <c>flow.TCPFlags</c>), with the bit values of the TCP header (RFC 9293 §3.1, RFC 3540 for NS).</summary>
[Flags]
public enum TcpFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>FIN.</summary>
    Fin = 0x01,

    /// <summary>SYN.</summary>
    Syn = 0x02,

    /// <summary>RST.</summary>
    Rst = 0x04,

    /// <summary>PSH.</summary>
    Psh = 0x08,

    /// <summary>ACK.</summary>
    Ack = 0x10,

    /// <summary>URG.</summary>
    Urg = 0x20,

    /// <summary>ECE.</summary>
    Ece = 0x40,

    /// <summary>CWR.</summary>
    Cwr = 0x80,

    /// <summary>NS (nonce sum).</summary>
    Ns = 0x100,
}

/// <summary>How a policy-verdict event matched (Cilium <c>monitor/api.PolicyMatchType</c>; Hubble's <c>policy_match_type</c>).</summary>
public enum PolicyMatchType
{
    /// <summary><c>none</c>: no rule matched (default deny).</summary>
    None = 0,

    /// <summary><c>L3-Only</c>.</summary>
    L3Only = 1,

    /// <summary><c>L3-L4</c>.</summary>
    L3L4 = 2,

    /// <summary><c>L4-Only</c>.</summary>
    L4Only = 3,

    /// <summary><c>all</c>: an allow-all entry.</summary>
    All = 4,

    /// <summary><c>L3-Proto</c>.</summary>
    L3Proto = 5,

    /// <summary><c>Proto-Only</c>.</summary>
    ProtoOnly = 6,
}

/// <summary>Hubble's <c>observer.LostEventSource</c>: where events were lost.</summary>
public enum LostEventSource
{
    /// <summary><c>UNKNOWN_LOST_EVENT_SOURCE</c>.</summary>
    Unknown = 0,

    /// <summary><c>PERF_EVENT_RING_BUFFER</c>: the kernel-to-agent ring buffer overflowed.</summary>
    PerfEventRingBuffer = 1,

    /// <summary><c>OBSERVER_EVENTS_QUEUE</c>: the agent's event queue overflowed.</summary>
    ObserverEventsQueue = 2,

    /// <summary><c>HUBBLE_RING_BUFFER</c>: the flow buffer overwrote flows before a reader got them.</summary>
    HubbleRingBuffer = 3,
}
