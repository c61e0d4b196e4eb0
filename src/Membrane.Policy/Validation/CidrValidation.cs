using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Membrane.Policy.Validation;

/// <summary>CIDR checks (Cilium <c>CIDR.sanitize</c> and <c>CIDRRule.sanitize</c>, Go <c>netip.ParsePrefix</c> syntax).</summary>
internal static class CidrValidation
{
    /// <summary>Parses <c>address/bits</c>, or a bare address when <paramref name="allowBareAddress"/> (then /32 or /128).</summary>
    public static bool TryParse(string text, bool allowBareAddress, out IPAddress address, out int bits, out string error)
    {
        address = IPAddress.None;
        bits = 0;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!TryParseAddress(addressText, out address))
        {
            error = $"\"{addressText}\" is not an IPv4 or IPv6 address";
            return false;
        }

        var max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            bits = max;
            error = allowBareAddress ? "" : $"\"{text}\" has no prefix length (write {text}/{max})";
            return allowBareAddress;
        }

        var bitsText = text[(slash + 1)..];
        if (bitsText.Length == 0 || bitsText.Length > 3 || !bitsText.All(char.IsAsciiDigit) || (bitsText.Length > 1 && bitsText[0] == '0') ||
            !int.TryParse(bitsText, NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits > max)
        {
            error = $"bad prefix length \"{bitsText}\" (0 to {max})";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>
    /// Checks one <c>fromCIDR</c>/<c>toCIDR</c> entry (a prefix or a bare IP). Returns the error or null.
    /// </summary>
    public static string? CheckCidr(string text)
    {
        if (text.Length == 0)
        {
            return "IP must be specified";
        }

        return TryParse(text, allowBareAddress: true, out _, out _, out var error) ? null : $"unable to parse CIDR \"{text}\": {error}";
    }

    /// <summary>Checks a <c>fromCIDRSet[].cidr</c> (prefix notation only, as Cilium's CIDRRule requires).</summary>
    public static string? CheckCidrRule(string text) =>
        TryParse(text, allowBareAddress: false, out _, out _, out var error) ? null : $"Unable to parse CIDRRule \"{text}\": {error}";

    /// <summary>Checks that <paramref name="except"/> parses and lies inside <paramref name="cidr"/> (same family, longer or equal prefix).</summary>
    public static string? CheckExcept(string cidr, string except)
    {
        if (!TryParse(except, allowBareAddress: false, out var exceptAddress, out var exceptBits, out var error))
        {
            return $"unable to parse except CIDR \"{except}\": {error}";
        }

        if (!TryParse(cidr, allowBareAddress: false, out var address, out var bits, out _))
        {
            return null;
        }

        // Cilium only checks that the except address is inside the prefix; a shorter except prefix would also
        // exclude addresses outside the allowed CIDR, which is never what the author meant.
        if (address.AddressFamily != exceptAddress.AddressFamily || exceptBits < bits || !Contains(address, bits, exceptAddress))
        {
            return $"allow CIDR prefix {cidr} does not contain exclude CIDR prefix {except}";
        }

        return null;
    }

    private static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            return IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        // IPAddress.TryParse accepts "10.1" and "1"; Go's netip (and so Cilium) wants four decimal octets without
        // leading zeros.
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0') ||
                int.Parse(p, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return IPAddress.TryParse(text, out address!);
    }

    private static bool Contains(IPAddress network, int bits, IPAddress candidate)
    {
        var a = network.GetAddressBytes();
        var b = candidate.GetAddressBytes();
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (b[i] & mask))
            {
                return false;
            }
        }

        return true;
    }
}
