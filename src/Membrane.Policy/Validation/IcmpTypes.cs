using System.Globalization;

namespace Membrane.Policy.Validation;

/// <summary>
/// ICMP type names and numbers accepted in <c>icmps[].fields[].type</c> (Cilium <c>pkg/policy/api/icmp.go</c>).
/// </summary>
public static class IcmpTypes
{
    /// <summary><c>family: IPv4</c> (the default).</summary>
    public const string IPv4 = "IPv4";

    /// <summary><c>family: IPv6</c>.</summary>
    public const string IPv6 = "IPv6";

    private static readonly Dictionary<string, byte> V4Names = new(StringComparer.Ordinal)
    {
        ["EchoReply"] = 0, ["DestinationUnreachable"] = 3, ["Redirect"] = 5, ["Echo"] = 8, ["EchoRequest"] = 8,
        ["RouterAdvertisement"] = 9, ["RouterSelection"] = 10, ["TimeExceeded"] = 11, ["ParameterProblem"] = 12,
        ["Timestamp"] = 13, ["TimestampReply"] = 14, ["Photuris"] = 40, ["ExtendedEchoRequest"] = 42, ["ExtendedEchoReply"] = 43,
    };

    private static readonly Dictionary<string, byte> V6Names = new(StringComparer.Ordinal)
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

    /// <summary>Resolves a type written as 0–255 or as a CamelCase name of <paramref name="family"/> to its number.</summary>
    /// <param name="family"><c>IPv4</c> or <c>IPv6</c>.</param>
    /// <param name="type">The type as written.</param>
    /// <param name="code">The ICMP type number.</param>
    /// <returns>False when the type is neither a number 0–255 nor a name of that family.</returns>
    public static bool TryResolve(string family, string type, out byte code)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.Length is > 0 and <= 3 && type.All(char.IsAsciiDigit) && (type.Length == 1 || type[0] != '0') &&
            int.Parse(type, CultureInfo.InvariantCulture) is var n && n <= 255)
        {
            code = (byte)n;
            return true;
        }

        return (family == IPv6 ? V6Names : V4Names).TryGetValue(type, out code);
    }

    internal static IEnumerable<string> NamesOf(string family) => (family == IPv6 ? V6Names : V4Names).Keys;
}
