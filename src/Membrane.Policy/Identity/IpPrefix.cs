using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Membrane.Policy.Identity;

/// <summary>
/// An IPv4 or IPv6 prefix with its host bits cleared: the key of the ipcache and of CIDR identities. A bare address
/// is a full-length prefix (<c>/32</c> or <c>/128</c>), as Cilium accepts in <c>fromCIDR</c>.
/// </summary>
public readonly record struct IpPrefix : IComparable<IpPrefix>
{
    private readonly UInt128 _bits;

    private IpPrefix(AddressFamily family, UInt128 bits, int length)
    {
        Family = family;
        Length = length;
        _bits = bits & Mask(family, length);
    }

    /// <summary><see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>.</summary>
    public AddressFamily Family { get; }

    /// <summary>Number of leading bits that are significant.</summary>
    public int Length { get; }

    /// <summary>Maximum length for this family (32 or 128).</summary>
    public int MaxLength => Family == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>True for <c>0.0.0.0/0</c> and <c>::/0</c>.</summary>
    public bool IsAll => Length == 0;

    /// <summary>The network address.</summary>
    public IPAddress Address
    {
        get
        {
            if (Family == AddressFamily.InterNetwork)
            {
                Span<byte> b4 = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(b4, (uint)_bits);
                return new IPAddress(b4);
            }

            Span<byte> b16 = stackalloc byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(b16, _bits);
            return new IPAddress(b16);
        }
    }

    /// <summary>The prefix of <paramref name="length"/> bits containing <paramref name="address"/> (host bits cleared).</summary>
    public static IpPrefix Create(IPAddress address, int length)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var family = address.AddressFamily;
        var max = family == AddressFamily.InterNetwork ? 32 : 128;
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, max);
        return new IpPrefix(family, ToBits(address), length);
    }

    /// <summary>The full-length prefix of one address.</summary>
    public static IpPrefix Host(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return Create(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
    }

    /// <summary>Parses <c>address/length</c> or a bare address; host bits are cleared. Returns false on bad input.</summary>
    public static bool TryParse(string? text, out IpPrefix prefix)
    {
        prefix = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }

        // IPAddress also accepts inet_aton shorthands ("10.0.0" is 10.0.0.0); a CIDR spells all four parts.
        if (address.AddressFamily == AddressFamily.InterNetwork && addressText.Count(c => c == '.') != 3)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var length = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
        {
            return false;
        }

        prefix = new IpPrefix(address.AddressFamily, ToBits(address), length);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/>; throws <see cref="FormatException"/> on bad input.</summary>
    public static IpPrefix Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"invalid CIDR \"{text}\"");

    /// <summary>True if <paramref name="address"/> lies inside this prefix.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return a.AddressFamily == Family && (ToBits(a) & Mask(Family, Length)) == _bits;
    }

    /// <summary>True if every address of <paramref name="other"/> lies inside this prefix.</summary>
    public bool Contains(IpPrefix other) =>
        other.Family == Family && other.Length >= Length && (other._bits & Mask(Family, Length)) == _bits;

    /// <summary>This prefix shortened to <paramref name="length"/> bits.</summary>
    public IpPrefix Truncate(int length) => new(Family, _bits, Math.Min(length, Length));

    /// <inheritdoc />
    public int CompareTo(IpPrefix other)
    {
        var c = Family.CompareTo(other.Family);
        if (c != 0)
        {
            return c;
        }

        c = _bits.CompareTo(other._bits);
        return c != 0 ? c : Length.CompareTo(other.Length);
    }

    /// <summary><c>address/length</c>.</summary>
    public override string ToString() => $"{Address}/{Length.ToString(CultureInfo.InvariantCulture)}";

    private static UInt128 ToBits(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static UInt128 Mask(AddressFamily family, int length)
    {
        var max = family == AddressFamily.InterNetwork ? 32 : 128;
        if (length == 0)
        {
            return UInt128.Zero;
        }

        var all = family == AddressFamily.InterNetwork ? (UInt128)uint.MaxValue : UInt128.MaxValue;
        return (all << (max - length)) & all;
    }
}
