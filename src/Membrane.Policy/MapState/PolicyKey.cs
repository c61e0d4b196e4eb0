using Membrane.Policy.Model;

namespace Membrane.Policy.MapState;

/// <summary>
/// Key of one per-endpoint policy map entry: the datapath contract (mirrors Cilium's <c>PolicyKey</c>).
/// <list type="bullet">
/// <item><see cref="Identity"/> 0 = any peer identity.</item>
/// <item><see cref="Protocol"/> is the IP protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6);
/// 0 = any protocol, and then <see cref="Port"/> and <see cref="PortPrefixLength"/> are 0.</item>
/// <item><see cref="Port"/> is the destination port in host order (for ICMP: the ICMP type).</item>
/// <item><see cref="PortPrefixLength"/> is the number of leading bits of <see cref="Port"/> that must match:
/// 16 = exactly this port, 0 = any port; ranges (<c>endPort</c>) are split into prefix blocks as Cilium does.</item>
/// </list>
/// </summary>
/// <param name="Direction">Ingress or egress relative to the endpoint owning the map.</param>
/// <param name="Identity">Peer identity (source for ingress, destination for egress); 0 = any.</param>
/// <param name="Protocol">IP protocol number; 0 = any.</param>
/// <param name="Port">Destination port (host order), or ICMP type; meaningful bits given by the prefix length.</param>
/// <param name="PortPrefixLength">0–16 leading port bits that must match.</param>
public readonly record struct PolicyKey(
    TrafficDirection Direction,
    uint Identity,
    byte Protocol,
    ushort Port,
    byte PortPrefixLength)
{
    /// <summary>True if every (protocol, port) this key covers is also covered by <paramref name="other"/>
    /// for the same direction, and <paramref name="other"/>'s identity is equal or the wildcard.</summary>
    public bool IsCoveredBy(PolicyKey other)
    {
        if (Direction != other.Direction || (other.Identity != 0 && other.Identity != Identity))
        {
            return false;
        }

        if (other.Protocol == 0)
        {
            return true;
        }

        if (other.Protocol != Protocol || other.PortPrefixLength > PortPrefixLength)
        {
            return false;
        }

        var mask = other.PortPrefixLength == 0 ? 0 : (ushort)(0xFFFF << (16 - other.PortPrefixLength));
        return (Port & mask) == (other.Port & mask);
    }

    /// <summary>Lowest port covered (host order).</summary>
    public ushort FirstPort => Protocol == 0 ? (ushort)0 : (ushort)(Port & (PortPrefixLength == 0 ? 0 : 0xFFFF << (16 - PortPrefixLength)));

    /// <summary>Highest port covered (host order).</summary>
    public ushort LastPort => Protocol == 0 ? ushort.MaxValue : (ushort)(FirstPort | (0xFFFF >> PortPrefixLength));

    /// <summary>Cilium's <c>PortProtoString</c>: <c>80/TCP</c>, <c>80-95/TCP</c>, <c>TCP</c> or <c>ANY</c>.</summary>
    public string PortProtocolText
    {
        get
        {
            var proto = Protocol switch
            {
                0 => "ANY",
                1 => "ICMP",
                6 => "TCP",
                17 => "UDP",
                58 => "ICMPv6",
                132 => "SCTP",
                _ => Protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            if (Protocol == 0 || PortPrefixLength == 0)
            {
                return proto;
            }

            return PortPrefixLength == 16 ? $"{Port}/{proto}" : $"{FirstPort}-{LastPort}/{proto}";
        }
    }
}
