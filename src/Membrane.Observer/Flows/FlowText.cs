using System.Globalization;
using System.Text;
using Membrane.Policy.Identity;

namespace Membrane.Observer.Flows;

/// <summary>
/// Text Hubble and Cilium derive from flows: the summary (<c>TCP Flags: SYN</c>, <c>HTTP/1.1 GET http://…</c>),
/// TCP flag lists, ICMP type names (gopacket's <c>TypeCode.String()</c>), identities and the flow protocol.
/// </summary>
public static class FlowText
{
    // (type, name, code names) as gopacket names them.
    private static readonly Dictionary<byte, (string Name, string[]? Codes)> IcmpV4Types = new()
    {
        [0] = ("EchoReply", null),
        [3] = ("DestinationUnreachable", ["Net", "Host", "Protocol", "Port", "FragmentationNeeded", "SourceRoutingFailed",
            "NetUnknown", "HostUnknown", "SourceIsolated", "NetAdminProhibited", "HostAdminProhibited", "NetTOS", "HostTOS",
            "CommAdminProhibited", "HostPrecedence", "PrecedenceCutoff"]),
        [4] = ("SourceQuench", null),
        [5] = ("Redirect", ["Network", "Host", "TOS+Network", "TOS+Host"]),
        [8] = ("EchoRequest", null),
        [9] = ("RouterAdvertisement", null),
        [10] = ("RouterSolicitation", null),
        [11] = ("TimeExceeded", ["TTLExceeded", "FragmentReassemblyTimeExceeded"]),
        [12] = ("ParameterProblem", ["PointerIndicatesError", "MissingOption", "BadLength"]),
        [13] = ("TimestampRequest", null),
        [14] = ("TimestampReply", null),
        [15] = ("InfoRequest", null),
        [16] = ("InfoReply", null),
        [17] = ("AddressMaskRequest", null),
        [18] = ("AddressMaskReply", null),
    };

    private static readonly Dictionary<byte, (string Name, string[]? Codes)> IcmpV6Types = new()
    {
        [1] = ("DestinationUnreachable", ["NoRouteToDst", "AdminProhibited", "BeyondScopeOfSrc", "AddressUnreachable",
            "PortUnreachable", "SrcAddressFailedPolicy", "RejectRouteToDst"]),
        [2] = ("PacketTooBig", null),
        [3] = ("TimeExceeded", ["HopLimitExceeded", "FragmentReassemblyTimeExceeded"]),
        [4] = ("ParameterProblem", ["ErroneousHeaderField", "UnrecognizedNextHeader", "UnrecognizedIPv6Option"]),
        [128] = ("EchoRequest", null),
        [129] = ("EchoReply", null),
        [133] = ("RouterSolicitation", null),
        [134] = ("RouterAdvertisement", null),
        [135] = ("NeighborSolicitation", null),
        [136] = ("NeighborAdvertisement", null),
        [137] = ("Redirect", null),
    };

    private static readonly (TcpFlags Flag, string Name)[] TcpFlagOrder =
    [
        (TcpFlags.Syn, "SYN"), (TcpFlags.Ack, "ACK"), (TcpFlags.Rst, "RST"), (TcpFlags.Fin, "FIN"), (TcpFlags.Psh, "PSH"),
        (TcpFlags.Urg, "URG"), (TcpFlags.Ece, "ECE"), (TcpFlags.Cwr, "CWR"), (TcpFlags.Ns, "NS"),
    ];

    /// <summary>
    /// Hubble's summary: <see cref="Flow.Summary"/> when the producer set one, otherwise what Hubble's parsers write
    /// (<c>TCP Flags: SYN, ACK</c>, <c>UDP</c>, <c>ICMPv4 EchoRequest</c>, <c>HTTP/1.1 GET http://…</c>,
    /// <c>HTTP/1.1 200 3ms (GET http://…)</c>, <c>Kafka request produce correlation id 7 topic 'orders'</c>).
    /// </summary>
    public static string Summary(in Flow flow)
    {
        if (flow.Summary is not null)
        {
            return flow.Summary;
        }

        if (flow.L7 is Layer7 l7)
        {
            if (l7.Http is HttpInfo http)
            {
                var request = $"{http.Method} {http.Url}";
                return l7.Type == L7FlowType.Response
                    ? string.Create(CultureInfo.InvariantCulture, $"{http.Protocol} {http.Code} {l7.LatencyNs / 1_000_000}ms ({request})")
                    : $"{http.Protocol} {request}";
            }

            if (l7.Kafka is KafkaInfo kafka)
            {
                var head = string.Create(CultureInfo.InvariantCulture,
                    $"{HubbleNames.KafkaApiKey(kafka.ApiKey)} correlation id {kafka.CorrelationId} topic '{kafka.Topic}'");
                if (kafka.DeniedTopics is not null)
                {
                    head += $" denied topics '{kafka.DeniedTopics}'";
                }

                return l7.Type == L7FlowType.Response
                    ? string.Create(CultureInfo.InvariantCulture, $"Kafka response {head} return code {kafka.ErrorCode}")
                    : $"Kafka request {head}";
            }

            return "";
        }

        return flow.L4.Protocol switch
        {
            L4Protocol.Tcp => "TCP Flags: " + TcpFlagList(flow.L4.TcpFlags),
            L4Protocol.Udp => "UDP",
            L4Protocol.Sctp => "SCTP",
            L4Protocol.IcmpV4 => "ICMPv4 " + IcmpTypeCode(false, flow.L4.IcmpType, flow.L4.IcmpCode),
            L4Protocol.IcmpV6 => "ICMPv6 " + IcmpTypeCode(true, flow.L4.IcmpType, flow.L4.IcmpCode),
            _ => HubbleNames.Of(flow.IP.Version) is { } v && flow.IP.Version != IPVersion.NotUsed ? v : "",
        };
    }

    /// <summary>TCP flags in Hubble's order, comma separated: <c>SYN, ACK</c>.</summary>
    public static string TcpFlagList(TcpFlags flags, string separator = ", ")
    {
        var sb = new StringBuilder();
        foreach (var (flag, name) in TcpFlagOrder)
        {
            if ((flags & flag) != 0)
            {
                if (sb.Length > 0)
                {
                    sb.Append(separator);
                }

                sb.Append(name);
            }
        }

        return sb.ToString();
    }

    /// <summary>Parses a TCP flag name (<c>syn</c>, case-insensitive).</summary>
    public static bool TryParseTcpFlag(string name, out TcpFlags flag)
    {
        foreach (var (f, n) in TcpFlagOrder)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                flag = f;
                return true;
            }
        }

        flag = TcpFlags.None;
        return false;
    }

    /// <summary>gopacket's ICMP type/code text: <c>EchoRequest</c>, <c>DestinationUnreachable(Port)</c>, <c>42(0)</c>.</summary>
    public static string IcmpTypeCode(bool v6, byte type, byte code)
    {
        var table = v6 ? IcmpV6Types : IcmpV4Types;
        if (!table.TryGetValue(type, out var info))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{type}({code})");
        }

        if (info.Codes is null)
        {
            return code == 0 ? info.Name : string.Create(CultureInfo.InvariantCulture, $"{info.Name}(Code: {code})");
        }

        return code < info.Codes.Length
            ? $"{info.Name}({info.Codes[code]})"
            : string.Create(CultureInfo.InvariantCulture, $"{info.Name}(Code: {code})");
    }

    /// <summary>The name of an ICMP type (<c>EchoRequest</c>), or null when gopacket has none.</summary>
    public static string? IcmpTypeName(bool v6, byte type) =>
        (v6 ? IcmpV6Types : IcmpV4Types).TryGetValue(type, out var info) ? info.Name : null;

    /// <summary>An identity as Cilium prints it: the reserved name (<c>world</c>, <c>host</c>, <c>unknown</c> for 0) or the number.</summary>
    public static string Identity(uint identity)
    {
        if (identity == 0)
        {
            return "unknown";
        }

        return new NumericIdentity(identity).ReservedName ?? identity.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>True for identities Cilium prints by name (0 and the reserved ones).</summary>
    public static bool IsNamedIdentity(uint identity) => identity == 0 || new NumericIdentity(identity).ReservedName is not null;

    /// <summary>
    /// Hubble's <c>FlowProtocol</c>: the L7 protocol (<c>HTTP</c>, <c>Kafka</c>) for L7 flows, else the L4 protocol
    /// (<c>TCP</c>, <c>UDP</c>, <c>ICMPv4</c>, <c>ICMPv6</c>, <c>SCTP</c>); <c>Unknown flow</c> without either.
    /// </summary>
    public static string Protocol(in Flow flow)
    {
        if (flow.L7 is Layer7 l7)
        {
            return l7.Http is not null ? "HTTP" : l7.Kafka is not null ? "Kafka" : "Unknown L7";
        }

        return flow.L4.Protocol switch
        {
            L4Protocol.Tcp => "TCP",
            L4Protocol.Udp => "UDP",
            L4Protocol.IcmpV4 => "ICMPv4",
            L4Protocol.IcmpV6 => "ICMPv6",
            L4Protocol.Sctp => "SCTP",
            _ => "Unknown flow",
        };
    }
}
