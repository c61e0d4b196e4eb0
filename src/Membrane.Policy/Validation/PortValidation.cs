using System.Globalization;

namespace Membrane.Policy.Validation;

/// <summary>Checks of <c>toPorts[].ports[]</c> values (Cilium <c>PortProtocol.sanitize</c>, <c>pkg/iana</c>).</summary>
internal static class PortValidation
{
    /// <summary>Protocols a port rule may name; empty means ANY (TCP, UDP and SCTP).</summary>
    public static readonly string[] Protocols = ["TCP", "UDP", "SCTP", "ANY"];

    /// <summary>
    /// An IANA service name (RFC 6335 §5.1): 1–15 letters, digits and non-consecutive inner dashes, at least one
    /// letter. Such a port is resolved against the workload's named container ports. Note that <c>0x50</c> is a name.
    /// </summary>
    public static bool IsServiceName(string name)
    {
        if (name.Length is 0 or > 15 || name[0] == '-' || name[^1] == '-')
        {
            return false;
        }

        var hasLetter = false;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsAsciiLetter(c))
            {
                hasLetter = true;
            }
            else if (c == '-')
            {
                if (name[i - 1] == '-')
                {
                    return false;
                }
            }
            else if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return hasLetter;
    }

    /// <summary>Checks a <c>port</c>: a decimal number 0–65535 (0 = any port) or a service name. Returns the error or null.</summary>
    public static string? CheckPort(string port, out int? number)
    {
        number = null;
        if (port.Length == 0)
        {
            return "Port must be specified";
        }

        if (IsServiceName(port))
        {
            return null;
        }

        if (port.Length > 1 && port[0] == '0' && port.All(char.IsAsciiDigit))
        {
            // Cilium parses ports with strconv.ParseUint(port, 0, 16): a leading 0 means octal there.
            return $"invalid port \"{port}\": leading zeros are not allowed (Cilium would read it as an octal number)";
        }

        if (port.All(char.IsAsciiDigit) && int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= 65535)
        {
            number = value;
            return null;
        }

        return $"invalid port \"{port}\": must be a number from 0 to 65535 or an IANA service name (letters, digits and '-', at most 15 characters)";
    }

    /// <summary>Upper-cases a protocol (Cilium <c>ParseL4Proto</c>); empty or absent is ANY.</summary>
    public static string? NormalizeProtocol(string? protocol, out string normalized)
    {
        normalized = string.IsNullOrEmpty(protocol) ? "ANY" : protocol.ToUpperInvariant();
        if (Protocols.Contains(normalized))
        {
            return null;
        }

        return normalized switch
        {
            "ICMP" or "ICMPV6" => $"invalid protocol \"{protocol}\": ICMP is matched with an \"icmps\" rule, not with toPorts",
            "VRRP" or "IGMP" => $"protocol \"{protocol}\" is not supported by Membrane: extended IP protocols need Cilium's --enable-extended-ip-protocols, which Membrane does not implement",
            _ => $"invalid protocol \"{protocol}\", must be {{ tcp | udp | sctp | any }}" + Suggestions.Hint(protocol!.ToUpperInvariant(), Protocols),
        };
    }
}
