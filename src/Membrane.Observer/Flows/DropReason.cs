using System.Globalization;

namespace Membrane.Observer.Flows;

/// <summary>
/// A drop reason code: Cilium's numbers (<c>pkg/monitor/api/drop.go</c>, <c>bpf/lib/common.h</c>), Hubble's
/// <c>flow.DropReason</c> enum names and Cilium's texts, all from the one table in <see cref="DropReasons"/>.
/// Codes below 130 are not drops (Cilium's sub-codes) and have no Hubble name.
/// </summary>
/// <param name="Code">The numeric code as the datapath reports it.</param>
public readonly record struct DropReason(byte Code)
{
    /// <summary>No drop (code 0).</summary>
    public static readonly DropReason None = new(0);

    /// <summary>133 <c>POLICY_DENIED</c> "Policy denied": no rule allows the traffic (default deny), or an L7 rule denied a request.</summary>
    public static readonly DropReason PolicyDenied = new(133);

    /// <summary>134 <c>INVALID_PACKET_DROPPED</c> "Invalid packet".</summary>
    public static readonly DropReason InvalidPacket = new(134);

    /// <summary>178 <c>SOCKET_LOOKUP_FAILED</c> "Socket lookup failed".</summary>
    public static readonly DropReason SocketLookupFailed = new(178);

    /// <summary>179 <c>SOCKET_ASSIGN_FAILED</c> "Socket assign failed" (e.g. the proxy listener of a redirect is missing).</summary>
    public static readonly DropReason SocketAssignFailed = new(179);

    /// <summary>180 <c>PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL</c>.</summary>
    public static readonly DropReason ProxyRedirectionNotSupported = new(180);

    /// <summary>181 <c>POLICY_DENY</c> "Policy denied by denylist": an explicit deny rule matched.</summary>
    public static readonly DropReason PolicyDenyList = new(181);

    /// <summary>Hubble's enum name (<c>POLICY_DENIED</c>), or null when Hubble's enum has no name for the code.</summary>
    public string? HubbleName => DropReasons.Lookup(Code).HubbleName;

    /// <summary>Cilium's text ("Policy denied"), or the decimal code when the code is unknown (as Cilium prints it).</summary>
    public string Text => DropReasons.Lookup(Code).Text ?? Code.ToString(CultureInfo.InvariantCulture);

    /// <summary>True for the policy drops (133 and 181).</summary>
    public bool IsPolicyDrop => Code is 133 or 181;

    /// <summary>Parses a Hubble name (<c>POLICY_DENIED</c>, case-insensitive) or a decimal code.</summary>
    public static bool TryParse(string text, out DropReason reason)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            reason = new DropReason(code);
            return true;
        }

        foreach (var entry in DropReasons.All)
        {
            if (entry.HubbleName is not null && string.Equals(entry.HubbleName, text, StringComparison.OrdinalIgnoreCase))
            {
                reason = new DropReason(entry.Code);
                return true;
            }
        }

        reason = None;
        return false;
    }

    /// <summary><c>133 POLICY_DENIED (Policy denied)</c>.</summary>
    public override string ToString() => $"{Code} {HubbleName ?? "-"} ({Text})";
}

/// <summary>One row of the drop reason table.</summary>
/// <param name="Code">Cilium's numeric code.</param>
/// <param name="HubbleName">Hubble's <c>flow.DropReason</c> name, or null if the code has none.</param>
/// <param name="Text">Cilium's text (<c>pkg/monitor/api/drop.go</c>), or null if the code is unknown.</param>
public readonly record struct DropReasonInfo(byte Code, string? HubbleName, string? Text);

/// <summary>The drop reason table: the one place codes, Hubble names and Cilium texts are written down (Cilium v1.19.4).</summary>
public static class DropReasons
{
    // Hubble's flow.proto names the enum values; Cilium's drop.go gives the texts. 136's name is historical
    // (CT_MISSING_TCP_ACK_FLAG) while its text is now "Fragmentation needed"; 161 likewise.
    private static readonly DropReasonInfo[] Table =
    [
        new(0, "DROP_REASON_UNKNOWN", "Success"),
        new(2, null, "Invalid packet"),
        new(3, null, "Interface"),
        new(4, null, "Interface Decrypted"),
        new(5, null, "LB, sock cgroup: No backend slot entry found"),
        new(6, null, "LB, sock cgroup: No backend entry found"),
        new(7, null, "LB, sock cgroup: Reverse entry update failed"),
        new(8, null, "LB, sock cgroup: Reverse entry stale"),
        new(9, null, "Fragmented packet"),
        new(10, null, "Fragmented packet entry update failed"),
        new(11, null, "Missed tail call to custom program"),
        new(12, null, "Interface Decrypting"),
        new(13, null, "Interface Encrypting"),
        new(14, null, "LB: sock cgroup: Reverse entry delete succeeded"),
        new(15, null, "MTU error message"),
        new(130, "INVALID_SOURCE_MAC", "Invalid source mac"),
        new(131, "INVALID_DESTINATION_MAC", "Invalid destination mac"),
        new(132, "INVALID_SOURCE_IP", "Invalid source ip"),
        new(133, "POLICY_DENIED", "Policy denied"),
        new(134, "INVALID_PACKET_DROPPED", "Invalid packet"),
        new(135, "CT_TRUNCATED_OR_INVALID_HEADER", "CT: Truncated or invalid header"),
        new(136, "CT_MISSING_TCP_ACK_FLAG", "Fragmentation needed"),
        new(137, "CT_UNKNOWN_L4_PROTOCOL", "CT: Unknown L4 protocol"),
        new(138, "CT_CANNOT_CREATE_ENTRY_FROM_PACKET", "CT: Can't create entry from packet"),
        new(139, "UNSUPPORTED_L3_PROTOCOL", "Unsupported L3 protocol"),
        new(140, "MISSED_TAIL_CALL", "Missed tail call"),
        new(141, "ERROR_WRITING_TO_PACKET", "Error writing to packet"),
        new(142, "UNKNOWN_L4_PROTOCOL", "Unknown L4 protocol"),
        new(143, "UNKNOWN_ICMPV4_CODE", "Unknown ICMPv4 code"),
        new(144, "UNKNOWN_ICMPV4_TYPE", "Unknown ICMPv4 type"),
        new(145, "UNKNOWN_ICMPV6_CODE", "Unknown ICMPv6 code"),
        new(146, "UNKNOWN_ICMPV6_TYPE", "Unknown ICMPv6 type"),
        new(147, "ERROR_RETRIEVING_TUNNEL_KEY", "Error retrieving tunnel key"),
        new(148, "ERROR_RETRIEVING_TUNNEL_OPTIONS", "Error retrieving tunnel options"),
        new(149, "INVALID_GENEVE_OPTION", "Invalid Geneve option"),
        new(150, "UNKNOWN_L3_TARGET_ADDRESS", "Unknown L3 target address"),
        new(151, "STALE_OR_UNROUTABLE_IP", "Stale or unroutable IP"),
        new(152, "NO_MATCHING_LOCAL_CONTAINER_FOUND", "No matching local container found"),
        new(153, "ERROR_WHILE_CORRECTING_L3_CHECKSUM", "Error while correcting L3 checksum"),
        new(154, "ERROR_WHILE_CORRECTING_L4_CHECKSUM", "Error while correcting L4 checksum"),
        new(155, "CT_MAP_INSERTION_FAILED", "CT: Map insertion failed"),
        new(156, "INVALID_IPV6_EXTENSION_HEADER", "Invalid IPv6 extension header"),
        new(157, "IP_FRAGMENTATION_NOT_SUPPORTED", "IP fragmentation not supported"),
        new(158, "SERVICE_BACKEND_NOT_FOUND", "Service backend not found"),
        new(160, "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT", "No tunnel/encapsulation endpoint (datapath BUG!)"),
        new(161, "FAILED_TO_INSERT_INTO_PROXYMAP", "NAT 46/64 not enabled"),
        new(162, "REACHED_EDT_RATE_LIMITING_DROP_HORIZON", "Reached EDT rate-limiting drop horizon"),
        new(163, "UNKNOWN_CONNECTION_TRACKING_STATE", "Unknown connection tracking state"),
        new(164, "LOCAL_HOST_IS_UNREACHABLE", "Local host is unreachable"),
        new(165, "NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION", "No configuration available to perform policy decision"),
        new(166, "UNSUPPORTED_L2_PROTOCOL", "Unsupported L2 protocol"),
        new(167, "NO_MAPPING_FOR_NAT_MASQUERADE", "No mapping for NAT masquerade"),
        new(168, "UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE", "Unsupported protocol for NAT masquerade"),
        new(169, "FIB_LOOKUP_FAILED", "FIB lookup failed"),
        new(170, "ENCAPSULATION_TRAFFIC_IS_PROHIBITED", "Encapsulation traffic is prohibited"),
        new(171, "INVALID_IDENTITY", "Invalid identity"),
        new(172, "UNKNOWN_SENDER", "Unknown sender"),
        new(173, "NAT_NOT_NEEDED", "NAT not needed"),
        new(174, "IS_A_CLUSTERIP", "Is a ClusterIP"),
        new(175, "FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND", "First logical datagram fragment not found"),
        new(176, "FORBIDDEN_ICMPV6_MESSAGE", "Forbidden ICMPv6 message"),
        new(177, "DENIED_BY_LB_SRC_RANGE_CHECK", "Denied by LB src range check"),
        new(178, "SOCKET_LOOKUP_FAILED", "Socket lookup failed"),
        new(179, "SOCKET_ASSIGN_FAILED", "Socket assign failed"),
        new(180, "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL", "Proxy redirection not supported for protocol"),
        new(181, "POLICY_DENY", "Policy denied by denylist"),
        new(182, "VLAN_FILTERED", "VLAN traffic disallowed by VLAN filter"),
        new(183, "INVALID_VNI", "Incorrect VNI from VTEP"),
        new(184, "INVALID_TC_BUFFER", "Failed to update or lookup TC buffer"),
        new(185, "NO_SID", "No SID was found for the IP address"),
        new(186, "MISSING_SRV6_STATE", "SRv6 state was removed during tail call"),
        new(187, "NAT46", "L3 translation from IPv4 to IPv6 failed (NAT46)"),
        new(188, "NAT64", "L3 translation from IPv6 to IPv4 failed (NAT64)"),
        new(189, "AUTH_REQUIRED", "Authentication required"),
        new(190, "CT_NO_MAP_FOUND", "No conntrack map found"),
        new(191, "SNAT_NO_MAP_FOUND", "No nat map found"),
        new(192, "INVALID_CLUSTER_ID", "Invalid ClusterID"),
        new(193, "UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP", "Unsupported packet protocol for DSR encapsulation"),
        new(194, "NO_EGRESS_GATEWAY", "No egress gateway found"),
        new(195, "UNENCRYPTED_TRAFFIC", "Traffic is unencrypted"),
        new(196, "TTL_EXCEEDED", "TTL exceeded"),
        new(197, "NO_NODE_ID", "No node ID found"),
        new(198, "DROP_RATE_LIMITED", "Rate limited"),
        new(199, "IGMP_HANDLED", "IGMP handled"),
        new(200, "IGMP_SUBSCRIBED", "IGMP subscribed"),
        new(201, "MULTICAST_HANDLED", "Multicast handled"),
        new(202, "DROP_HOST_NOT_READY", "Host datapath not ready"),
        new(203, "DROP_EP_NOT_READY", "Endpoint policy program not available"),
        new(204, "DROP_NO_EGRESS_IP", "No Egress IP configured"),
        new(205, "DROP_PUNT_PROXY", "Punt to proxy"),
    ];

    private static readonly DropReasonInfo[] ByCode = BuildIndex();

    /// <summary>Every known code, in code order.</summary>
    public static IReadOnlyList<DropReasonInfo> All => Table;

    /// <summary>The row for a code; unknown codes get a row with null name and text.</summary>
    public static DropReasonInfo Lookup(byte code) => ByCode[code];

    private static DropReasonInfo[] BuildIndex()
    {
        var index = new DropReasonInfo[256];
        for (var i = 0; i < index.Length; i++)
        {
            index[i] = new DropReasonInfo((byte)i, null, null);
        }

        foreach (var row in Table)
        {
            index[row.Code] = row;
        }

        return index;
    }
}
