using System.Net;
using Membrane.Policy.Model;

namespace Membrane.Observer.Flows;

/// <summary>One side of a flow (Hubble's <c>flow.Endpoint</c>).</summary>
public readonly struct FlowEndpoint
{
    /// <summary>Local endpoint id (Hubble <c>ID</c>); 0 when the peer is not a local endpoint.</summary>
    public uint Id { get; init; }

    /// <summary>Numeric security identity.</summary>
    public uint Identity { get; init; }

    /// <summary>Cluster name, or null.</summary>
    public string? ClusterName { get; init; }

    /// <summary>Kubernetes-style namespace, or null.</summary>
    public string? Namespace { get; init; }

    /// <summary>Identity labels with their sources (printed <c>k8s:app=frontend</c>, <c>reserved:world</c>), or null.</summary>
    public LabelSet? Labels { get; init; }

    /// <summary>Pod name, or null.</summary>
    public string? PodName { get; init; }

    /// <summary>Workloads owning the pod (Deployment, ...), or null.</summary>
    public IReadOnlyList<FlowWorkload>? Workloads { get; init; }

    /// <summary>True when no field is set.</summary>
    public bool IsEmpty => Id == 0 && Identity == 0 && ClusterName is null && Namespace is null
        && (Labels is null || Labels.Count == 0) && PodName is null && (Workloads is null || Workloads.Count == 0);
}

/// <summary>A workload owning a pod (Hubble's <c>flow.Workload</c>).</summary>
/// <param name="Name">Workload name.</param>
/// <param name="Kind">Workload kind (<c>Deployment</c>, <c>StatefulSet</c>, ...).</param>
public sealed record FlowWorkload(string Name, string Kind);

/// <summary>A Kubernetes service (Hubble's <c>flow.Service</c>).</summary>
/// <param name="Name">Service name.</param>
/// <param name="Namespace">Service namespace, or null.</param>
public readonly record struct FlowService(string Name, string? Namespace);

/// <summary>Layer 3 of a flow (Hubble's <c>flow.IP</c>); the IP version follows from the addresses.</summary>
public readonly struct FlowIP
{
    /// <summary>Source address.</summary>
    public IPAddress? Source { get; init; }

    /// <summary>Destination address.</summary>
    public IPAddress? Destination { get; init; }

    /// <summary>True when the packet was encrypted.</summary>
    public bool Encrypted { get; init; }

    /// <summary>True when neither address is set.</summary>
    public bool IsEmpty => Source is null && Destination is null;

    /// <summary>IPv4 or IPv6 from the source (or destination) address.</summary>
    public IPVersion Version => (Source ?? Destination)?.AddressFamily switch
    {
        System.Net.Sockets.AddressFamily.InterNetwork => IPVersion.IPv4,
        System.Net.Sockets.AddressFamily.InterNetworkV6 => IPVersion.IPv6,
        _ => IPVersion.NotUsed,
    };
}

/// <summary>Layer 4 of a flow (Hubble's <c>flow.Layer4</c> oneof).</summary>
public readonly struct Layer4
{
    /// <summary>Which protocol is set.</summary>
    public L4Protocol Protocol { get; init; }

    /// <summary>Source port (TCP, UDP, SCTP).</summary>
    public ushort SourcePort { get; init; }

    /// <summary>Destination port (TCP, UDP, SCTP).</summary>
    public ushort DestinationPort { get; init; }

    /// <summary>TCP flags (TCP only).</summary>
    public TcpFlags TcpFlags { get; init; }

    /// <summary>ICMP type (ICMPv4, ICMPv6).</summary>
    public byte IcmpType { get; init; }

    /// <summary>ICMP code (ICMPv4, ICMPv6).</summary>
    public byte IcmpCode { get; init; }

    /// <summary>True for the protocols with ports.</summary>
    public bool HasPorts => Protocol is L4Protocol.Tcp or L4Protocol.Udp or L4Protocol.Sctp;

    /// <summary>The IP protocol number (6, 17, 1, 58, 132), or 0.</summary>
    public byte IpProtocolNumber => Protocol switch
    {
        L4Protocol.Tcp => 6,
        L4Protocol.Udp => 17,
        L4Protocol.IcmpV4 => 1,
        L4Protocol.IcmpV6 => 58,
        L4Protocol.Sctp => 132,
        _ => 0,
    };

    /// <summary>A TCP segment.</summary>
    public static Layer4 Tcp(ushort sourcePort, ushort destinationPort, TcpFlags flags = TcpFlags.None) =>
        new() { Protocol = L4Protocol.Tcp, SourcePort = sourcePort, DestinationPort = destinationPort, TcpFlags = flags };

    /// <summary>A UDP datagram.</summary>
    public static Layer4 Udp(ushort sourcePort, ushort destinationPort) =>
        new() { Protocol = L4Protocol.Udp, SourcePort = sourcePort, DestinationPort = destinationPort };

    /// <summary>An SCTP packet.</summary>
    public static Layer4 Sctp(ushort sourcePort, ushort destinationPort) =>
        new() { Protocol = L4Protocol.Sctp, SourcePort = sourcePort, DestinationPort = destinationPort };

    /// <summary>An ICMPv4 message.</summary>
    public static Layer4 IcmpV4(byte type, byte code) => new() { Protocol = L4Protocol.IcmpV4, IcmpType = type, IcmpCode = code };

    /// <summary>An ICMPv6 message.</summary>
    public static Layer4 IcmpV6(byte type, byte code) => new() { Protocol = L4Protocol.IcmpV6, IcmpType = type, IcmpCode = code };
}

/// <summary>Layer 7 of a flow (Hubble's <c>flow.Layer7</c>): exactly one of <see cref="Http"/> and <see cref="Kafka"/> is set.</summary>
public readonly struct Layer7
{
    /// <summary>Request or response.</summary>
    public L7FlowType Type { get; init; }

    /// <summary>Request-to-response latency in nanoseconds (responses).</summary>
    public ulong LatencyNs { get; init; }

    /// <summary>The HTTP (or gRPC) record.</summary>
    public HttpInfo? Http { get; init; }

    /// <summary>The Kafka record.</summary>
    public KafkaInfo? Kafka { get; init; }
}

/// <summary>An HTTP record (Hubble's <c>flow.HTTP</c>).</summary>
public readonly struct HttpInfo
{
    /// <summary>Response status code; 0 on requests.</summary>
    public uint Code { get; init; }

    /// <summary>Request method.</summary>
    public string? Method { get; init; }

    /// <summary>The URL as checked and forwarded (<c>http://host/path?query</c>).</summary>
    public string? Url { get; init; }

    /// <summary><c>HTTP/1.1</c> or <c>HTTP/2</c>.</summary>
    public string? Protocol { get; init; }

    /// <summary>Headers (Hubble's <c>headers[]{key,value}</c>), or null.</summary>
    public IReadOnlyList<HttpHeader>? Headers { get; init; }

    /// <summary>The path of <see cref="Url"/> (without scheme, authority, query or fragment); what <c>--http-path</c> matches.</summary>
    public ReadOnlySpan<char> Path => UrlPath(Url);

    /// <summary>Extracts the path of an absolute or origin-form URL without allocating.</summary>
    public static ReadOnlySpan<char> UrlPath(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return [];
        }

        var span = url.AsSpan();
        var scheme = span.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            span = span[(scheme + 3)..];
            var slash = span.IndexOf('/');
            span = slash < 0 ? [] : span[slash..];
        }

        var end = span.IndexOfAny('?', '#');
        return end < 0 ? span : span[..end];
    }
}

/// <summary>An HTTP header (Hubble's <c>flow.HTTPHeader</c>).</summary>
/// <param name="Key">Header name.</param>
/// <param name="Value">Header value.</param>
public readonly record struct HttpHeader(string Key, string Value);

/// <summary>A Kafka record (Hubble's <c>flow.Kafka</c>, deprecated upstream, kept here).</summary>
public readonly struct KafkaInfo
{
    /// <summary>Kafka error code of the response (29 TOPIC_AUTHORIZATION_FAILED for denials); 0 otherwise.</summary>
    public int ErrorCode { get; init; }

    /// <summary>API version.</summary>
    public int ApiVersion { get; init; }

    /// <summary>API key number; printed by name (<c>produce</c>, <c>fetch</c>, ...) as Hubble's string <c>api_key</c>.</summary>
    public short ApiKey { get; init; }

    /// <summary>Correlation id.</summary>
    public int CorrelationId { get; init; }

    /// <summary>Topic, or null.</summary>
    public string? Topic { get; init; }

    /// <summary>
    /// Not in Hubble: the topics of a forwarded request that policy denied (removed from what the broker received and
    /// answered with error 29), comma-separated, or null. Shown in the flow's summary and the monitor line.
    /// </summary>
    public string? DeniedTopics { get; init; }
}

/// <summary>The monitor event a flow came from (Hubble's <c>flow.CiliumEventType</c>).</summary>
/// <param name="Type">Message type (<see cref="MonitorMessageType"/>).</param>
/// <param name="SubType">Sub-type: the drop reason for drops, the observation point (Cilium numbering) for traces.</param>
public readonly record struct CiliumEventType(int Type, int SubType);

/// <summary>The network interface a flow was observed on (Hubble's <c>flow.NetworkInterface</c>).</summary>
/// <param name="Index">Interface index.</param>
/// <param name="Name">Interface name, or null.</param>
public readonly record struct FlowInterface(uint Index, string? Name);

/// <summary>Source location of a datapath drop (Hubble's <c>flow.FileInfo</c>).</summary>
/// <param name="Name">Source file (<c>bpf_lxc.c</c>).</param>
/// <param name="Line">Line.</param>
public readonly record struct FlowFileInfo(string Name, uint Line);
