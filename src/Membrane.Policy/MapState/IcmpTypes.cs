namespace Membrane.Policy.MapState;

/// <summary>
/// ICMP and ICMPv6 type names accepted in <c>icmps[].fields[].type</c> (Cilium <c>pkg/policy/api/icmp.go</c>) and
/// the IP protocol numbers of the two families.
/// </summary>
public static class IcmpTypes
{
    /// <summary>IP protocol number of ICMP.</summary>
    public const byte ProtocolIcmp = 1;

    /// <summary>IP protocol number of ICMPv6.</summary>
    public const byte ProtocolIcmpV6 = 58;

    /// <summary>ICMPv4 type names.</summary>
    public static IReadOnlyDictionary<string, byte> IPv4 { get; } = new Dictionary<string, byte>(StringComparer.Ordinal)
    {
        ["EchoReply"] = 0, ["DestinationUnreachable"] = 3, ["Redirect"] = 5, ["Echo"] = 8, ["EchoRequest"] = 8,
        ["RouterAdvertisement"] = 9, ["RouterSelection"] = 10, ["TimeExceeded"] = 11, ["ParameterProblem"] = 12,
        ["Timestamp"] = 13, ["TimestampReply"] = 14, ["Photuris"] = 40, ["ExtendedEchoRequest"] = 42,
        ["ExtendedEchoReply"] = 43,
    };

    /// <summary>ICMPv6 type names.</summary>
    public static IReadOnlyDictionary<string, byte> IPv6 { get; } = new Dictionary<string, byte>(StringComparer.Ordinal)
    {
        ["DestinationUnreachable"] = 1, ["PacketTooBig"] = 2, ["TimeExceeded"] = 3, ["ParameterProblem"] = 4,
        ["EchoRequest"] = 128, ["EchoReply"] = 129, ["MulticastListenerQuery"] = 130, ["MulticastListenerReport"] = 131,
        ["MulticastListenerDone"] = 132, ["RouterSolicitation"] = 133, ["RouterAdvertisement"] = 134,
        ["NeighborSolicitation"] = 135, ["NeighborAdvertisement"] = 136, ["RedirectMessage"] = 137,
        ["RouterRenumbering"] = 138, ["ICMPNodeInformationQuery"] = 139, ["ICMPNodeInformationResponse"] = 140,
        ["InverseNeighborDiscoverySolicitation"] = 141, ["InverseNeighborDiscoveryAdvertisement"] = 142,
        ["HomeAgentAddressDiscoveryRequest"] = 144, ["HomeAgentAddressDiscoveryReply"] = 145,
        ["MobilePrefixSolicitation"] = 146, ["MobilePrefixAdvertisement"] = 147,
        ["DuplicateAddressRequestCodeSuffix"] = 157, ["DuplicateAddressConfirmationCodeSuffix"] = 158,
        ["ExtendedEchoRequest"] = 160, ["ExtendedEchoReply"] = 161,
    };

    /// <summary>Resolves a written type (a number 0–255 or a name) for a family (<c>IPv4</c>, default, or <c>IPv6</c>).</summary>
    public static bool TryResolve(string? family, string type, out byte protocol, out byte icmpType)
    {
        ArgumentNullException.ThrowIfNull(type);
        var v6 = string.Equals(family, "IPv6", StringComparison.OrdinalIgnoreCase);
        protocol = v6 ? ProtocolIcmpV6 : ProtocolIcmp;
        if (!v6 && !string.IsNullOrEmpty(family) && !string.Equals(family, "IPv4", StringComparison.OrdinalIgnoreCase))
        {
            icmpType = 0;
            return false;
        }

        if (byte.TryParse(type, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out icmpType))
        {
            return true;
        }

        return (v6 ? IPv6 : IPv4).TryGetValue(type, out icmpType);
    }
}
