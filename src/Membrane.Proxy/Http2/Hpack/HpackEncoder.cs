namespace Membrane.Proxy.Http2.Hpack;

/// <summary>
/// HPACK encoding that never touches the peer's dynamic table (RFC 7541 §6.1, §6.2.2, §6.2.3): a field that equals a
/// static entry is sent indexed, any other as a literal without indexing (never-indexed when the sender of the field
/// asked for it, §7.1.3), with a static name index when the name is in the static table. Strings are sent raw (no
/// Huffman): the proxy spends no CPU compressing, and the peer's decoder state cannot depend on anything but each
/// block itself. Pure; writes into the caller's span.
/// </summary>
internal static class HpackEncoder
{
    /// <summary>Bytes <see cref="Encode"/> may need for a field at most (two 5-byte lengths and an index).</summary>
    public static int MaxEncodedLength(int nameLength, int valueLength) => nameLength + valueLength + 16;

    /// <summary>Encodes one field; <paramref name="output"/> must hold <see cref="MaxEncodedLength"/> bytes. Returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed, Span<byte> output)
    {
        var index = HpackStaticTable.Find(name, value, out var fullMatch);
        if (fullMatch && !neverIndexed)
        {
            return HpackInteger.Write(output, index, 7, 0x80);
        }

        var flags = neverIndexed ? (byte)0x10 : (byte)0x00;
        int n;
        if (index > 0)
        {
            n = HpackInteger.Write(output, index, 4, flags);
        }
        else
        {
            output[0] = flags;
            n = 1;
            n += WriteString(name, output[n..]);
        }

        n += WriteString(value, output[n..]);
        return n;
    }

    /// <summary>Encodes a field known to be static entry <paramref name="staticIndex"/> with value <paramref name="value"/>
    /// (for example <c>:path</c> with the checked path); indexed when the value is the entry's own.</summary>
    public static int EncodeWithStaticName(int staticIndex, ReadOnlySpan<byte> value, Span<byte> output)
    {
        var own = HpackStaticTable.Value(staticIndex);
        if (own.Length > 0 && own.SequenceEqual(value))
        {
            return HpackInteger.Write(output, staticIndex, 7, 0x80);
        }

        var n = HpackInteger.Write(output, staticIndex, 4, 0x00);
        return n + WriteString(value, output[n..]);
    }

    /// <summary>Encodes <c>:status</c> (indexed for the seven statuses of the static table).</summary>
    public static int EncodeStatus(int status, Span<byte> output)
    {
        var index = status switch
        {
            200 => 8,
            204 => 9,
            206 => 10,
            304 => 11,
            400 => 12,
            404 => 13,
            500 => 14,
            _ => 0,
        };
        if (index > 0)
        {
            return HpackInteger.Write(output, index, 7, 0x80);
        }

        output[0] = 0x08; // literal without indexing, name = static entry 8 (":status")
        output[1] = 3;
        output[2] = (byte)('0' + (status / 100 % 10));
        output[3] = (byte)('0' + (status / 10 % 10));
        output[4] = (byte)('0' + (status % 10));
        return 5;
    }

    private static int WriteString(ReadOnlySpan<byte> s, Span<byte> output)
    {
        var n = HpackInteger.Write(output, s.Length, 7, 0x00);
        s.CopyTo(output[n..]);
        return n + s.Length;
    }
}
