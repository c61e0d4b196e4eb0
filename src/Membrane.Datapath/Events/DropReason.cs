namespace Membrane.Datapath.Events;

/// <summary>
/// Why the datapath dropped a packet: Cilium's drop reason codes (bpf/lib/common.h, pkg/monitor/api/drop.go). The
/// C table <c>MEMBRANE_DROP_REASONS</c> in bpf/include/membrane/shared.h is the definition; a test fails when this
/// enum, <see cref="DropReasons.Describe"/> or <see cref="DropReasons.HubbleName"/> differ from it.
/// </summary>
public enum DropReason : ushort
{
    /// <summary>Not a drop.</summary>
    None = 0,

    /// <summary>The endpoint sent a packet with a source address that is not its own.</summary>
    InvalidSourceIp = 132,

    /// <summary>No policy entry allows the packet (default deny).</summary>
    PolicyDenied = 133,

    /// <summary>Malformed IPv4 header.</summary>
    InvalidPacket = 134,

    /// <summary>Truncated L4 header.</summary>
    CtInvalidHeader = 135,

    /// <summary>An IP protocol other than TCP, UDP, SCTP and ICMP.</summary>
    CtUnknownProtocol = 137,

    /// <summary>Not IPv4 (and not ARP).</summary>
    UnsupportedL3Protocol = 139,

    /// <summary>The conntrack entry could not be written.</summary>
    CtCreateFailed = 155,

    /// <summary>An IP fragment.</summary>
    FragmentsNotSupported = 157,

    /// <summary>The endpoint has no policy map.</summary>
    NoConfiguration = 165,

    /// <summary>A proxy mark without an identity.</summary>
    InvalidIdentity = 171,

    /// <summary>L7 redirect but no proxy listener on the port (fail closed).</summary>
    ProxyLookupFailed = 178,

    /// <summary>L7 redirect that cannot be carried out: socket assignment failed, the connection reaches the endpoint
    /// without passing the proxy (e.g. from the node itself), or an established direct connection would move into it.</summary>
    ProxySetFailed = 179,

    /// <summary>L7 redirect for a protocol the proxy does not take (not TCP), or two sides needing different engines.</summary>
    ProxyUnknownProtocol = 180,

    /// <summary>A deny entry matched (deny beats allow).</summary>
    PolicyDeny = 181,

    /// <summary>The interface is not a registered endpoint.</summary>
    EndpointNotReady = 203,
}

/// <summary>Texts and Hubble names of <see cref="DropReason"/>.</summary>
public static class DropReasons
{
    /// <summary>Cilium's text for a reason (e.g. "Policy denied").</summary>
    public static string Describe(this DropReason reason) => reason switch
    {
        DropReason.None => "",
        DropReason.InvalidSourceIp => "Invalid source ip",
        DropReason.PolicyDenied => "Policy denied",
        DropReason.InvalidPacket => "Invalid packet",
        DropReason.CtInvalidHeader => "CT: Truncated or invalid header",
        DropReason.CtUnknownProtocol => "CT: Unknown L4 protocol",
        DropReason.UnsupportedL3Protocol => "Unsupported L3 protocol",
        DropReason.CtCreateFailed => "CT: Map insertion failed",
        DropReason.FragmentsNotSupported => "IP fragmentation not supported",
        DropReason.NoConfiguration => "No configuration available to perform policy decision",
        DropReason.InvalidIdentity => "Invalid identity",
        DropReason.ProxyLookupFailed => "Proxy lookup failed",
        DropReason.ProxySetFailed => "Proxy assignment failed",
        DropReason.ProxyUnknownProtocol => "Proxy redirection not supported for protocol",
        DropReason.PolicyDeny => "Policy denied by denylist",
        DropReason.EndpointNotReady => "Endpoint policy program not available",
        _ => $"Unknown drop reason {(ushort)reason}",
    };

    /// <summary>The name in Hubble's <c>flow.DropReason</c> enum (e.g. <c>POLICY_DENIED</c>).</summary>
    public static string HubbleName(this DropReason reason) => reason switch
    {
        DropReason.None => "DROP_REASON_UNKNOWN",
        DropReason.InvalidSourceIp => "INVALID_SOURCE_IP",
        DropReason.PolicyDenied => "POLICY_DENIED",
        DropReason.InvalidPacket => "INVALID_PACKET_DROPPED",
        DropReason.CtInvalidHeader => "CT_TRUNCATED_OR_INVALID_HEADER",
        DropReason.CtUnknownProtocol => "CT_UNKNOWN_L4_PROTOCOL",
        DropReason.UnsupportedL3Protocol => "UNSUPPORTED_L3_PROTOCOL",
        DropReason.CtCreateFailed => "CT_MAP_INSERTION_FAILED",
        DropReason.FragmentsNotSupported => "IP_FRAGMENTATION_NOT_SUPPORTED",
        DropReason.NoConfiguration => "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION",
        DropReason.InvalidIdentity => "INVALID_IDENTITY",
        DropReason.ProxyLookupFailed => "PROXY_LOOKUP_FAILED",
        DropReason.ProxySetFailed => "PROXY_SET_FAILED",
        DropReason.ProxyUnknownProtocol => "PROXY_UNKNOWN_PROTOCOL",
        DropReason.PolicyDeny => "POLICY_DENY",
        DropReason.EndpointNotReady => "DROP_EP_NOT_READY",
        _ => "DROP_REASON_UNKNOWN",
    };
}

/// <summary>Packets and bytes dropped for one reason in one direction since the maps were created.</summary>
/// <param name="Reason">The reason.</param>
/// <param name="Direction">Relative to the endpoint whose policy applied.</param>
/// <param name="Packets">Packet count.</param>
/// <param name="Bytes">Byte count.</param>
public sealed record DropCounter(DropReason Reason, Membrane.Policy.Model.TrafficDirection Direction, ulong Packets, ulong Bytes);
