using Membrane.Proxy.Http;

namespace Membrane.Proxy.Http2.Hpack;

/// <summary>
/// HPACK decoder (RFC 7541) for one direction of one connection: static and dynamic table, Huffman strings, size
/// updates. Pure and allocation-free: it decodes bytes into a <see cref="HeaderList"/> arena. A header block may be
/// fed in pieces (HEADERS then CONTINUATION fragments): a representation cut by the end of a piece is left unconsumed
/// and nothing of it is applied, so the caller re-feeds those bytes with the next piece. Any error is a connection
/// error (COMPRESSION_ERROR, RFC 9113 §4.3): the decoder state is then undefined.
/// </summary>
internal sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;
    private readonly int _maxStringLength;
    private bool _fieldSeen;

    /// <summary>Creates a decoder.</summary>
    /// <param name="maxTableSize">SETTINGS_HEADER_TABLE_SIZE this side advertised (4096 unless changed).</param>
    /// <param name="maxStringLength">Longest encoded string accepted (a longer one is refused before it is buffered).</param>
    public HpackDecoder(int maxTableSize = 4096, int maxStringLength = 16 * 1024)
    {
        _table = new HpackDynamicTable(maxTableSize);
        _maxStringLength = maxStringLength;
    }

    /// <summary>Why the last call returned <see cref="ParseStatus.Rejected"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>The dynamic table (for tests and diagnostics).</summary>
    internal HpackDynamicTable Table => _table;

    /// <summary>
    /// Decodes the representations in <paramref name="input"/> into <paramref name="output"/>. Returns
    /// <see cref="ParseStatus.Complete"/> when <paramref name="endOfBlock"/> and everything was decoded (the next call
    /// starts a new block); <see cref="ParseStatus.NeedMoreData"/> when more of the block is to come, with
    /// <paramref name="consumed"/> bytes decoded (the rest is an incomplete representation to feed again);
    /// <see cref="ParseStatus.Rejected"/> on a decoding error (<see cref="Error"/>).
    /// </summary>
    public ParseStatus Decode(ReadOnlySpan<byte> input, bool endOfBlock, HeaderList output, out int consumed)
    {
        consumed = 0;
        while (consumed < input.Length)
        {
            var pos = consumed;
            var mark = output.Used;
            var status = DecodeRepresentation(input, ref pos, output);
            if (status == ParseStatus.Rejected)
            {
                return status;
            }

            if (status == ParseStatus.NeedMoreData)
            {
                output.Truncate(mark);
                if (endOfBlock)
                {
                    return Reject("header block ends inside a field representation");
                }

                return ParseStatus.NeedMoreData;
            }

            consumed = pos;
        }

        if (!endOfBlock)
        {
            return ParseStatus.NeedMoreData;
        }

        _fieldSeen = false;
        return ParseStatus.Complete;
    }

    private ParseStatus DecodeRepresentation(ReadOnlySpan<byte> input, ref int pos, HeaderList output)
    {
        var first = input[pos];
        if ((first & 0x80) != 0)
        {
            // Indexed header field (§6.1).
            var status = ReadInteger(input, ref pos, 7, out var index);
            if (status != ParseStatus.Complete)
            {
                return status;
            }

            if (!TryGetEntry(index, out var name, out var value))
            {
                return Reject(index == 0 ? "header field index 0" : "header field index past the tables");
            }

            var start = output.Used;
            name.CopyTo(output.Reserve(name.Length));
            output.Advance(name.Length);
            value.CopyTo(output.Reserve(value.Length));
            output.Advance(value.Length);
            output.Commit(start, name.Length, start + name.Length, value.Length, neverIndexed: false);
            _fieldSeen = true;
            return ParseStatus.Complete;
        }

        if ((first & 0xE0) == 0x20)
        {
            // Dynamic table size update (§6.3): only at the start of a block (§4.2).
            if (_fieldSeen)
            {
                return Reject("dynamic table size update after a header field");
            }

            var status = ReadInteger(input, ref pos, 5, out var size);
            if (status != ParseStatus.Complete)
            {
                return status;
            }

            return _table.SetMaxSize(size) ? ParseStatus.Complete : Reject("dynamic table size update above SETTINGS_HEADER_TABLE_SIZE");
        }

        // Literal header field (§6.2): with incremental indexing (01, 6-bit index), without indexing (0000) or never
        // indexed (0001), both with a 4-bit index.
        var incremental = (first & 0xC0) == 0x40;
        var neverIndexed = (first & 0xF0) == 0x10;
        var literal = ReadInteger(input, ref pos, incremental ? 6 : 4, out var nameIndex);
        if (literal != ParseStatus.Complete)
        {
            return literal;
        }

        var nameStart = output.Used;
        int nameLength;
        if (nameIndex == 0)
        {
            var s = ReadString(input, ref pos, output, out nameLength);
            if (s != ParseStatus.Complete)
            {
                return s;
            }
        }
        else
        {
            if (!TryGetEntry(nameIndex, out var name, out _))
            {
                return Reject("header name index past the tables");
            }

            name.CopyTo(output.Reserve(name.Length));
            output.Advance(name.Length);
            nameLength = name.Length;
        }

        var valueStart = output.Used;
        var v = ReadString(input, ref pos, output, out var valueLength);
        if (v != ParseStatus.Complete)
        {
            return v;
        }

        if (incremental)
        {
            // The entry is built from the decoded copy: the name it referenced may be the very entry evicted (§4.4).
            _table.Add(output.Slice(nameStart, nameLength), output.Slice(valueStart, valueLength));
        }

        output.Commit(nameStart, nameLength, valueStart, valueLength, neverIndexed);
        _fieldSeen = true;
        return ParseStatus.Complete;
    }

    private bool TryGetEntry(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (index >= 1 && index <= HpackStaticTable.Count)
        {
            name = HpackStaticTable.Name(index);
            value = HpackStaticTable.Value(index);
            return true;
        }

        return _table.TryGet(index - HpackStaticTable.Count - 1, out name, out value);
    }

    private ParseStatus ReadString(ReadOnlySpan<byte> input, ref int pos, HeaderList output, out int length)
    {
        length = 0;
        if (pos >= input.Length)
        {
            return ParseStatus.NeedMoreData;
        }

        var huffman = (input[pos] & 0x80) != 0;
        var status = ReadInteger(input, ref pos, 7, out var encoded);
        if (status != ParseStatus.Complete)
        {
            return status;
        }

        if (encoded > _maxStringLength)
        {
            // Refused before it is buffered: a peer cannot make the proxy wait for (and hold) a huge literal.
            return Reject("header string longer than the limit");
        }

        if (input.Length - pos < encoded)
        {
            return ParseStatus.NeedMoreData;
        }

        var source = input.Slice(pos, encoded);
        if (huffman)
        {
            var target = output.Reserve(Huffman.MaxDecodedLength(encoded));
            length = Huffman.Decode(source, target);
            if (length < 0)
            {
                return Reject("invalid Huffman-encoded string");
            }
        }
        else
        {
            source.CopyTo(output.Reserve(encoded));
            length = encoded;
        }

        output.Advance(length);
        pos += encoded;
        return ParseStatus.Complete;
    }

    /// <summary>Reads an N-bit prefix integer (§5.1) at <paramref name="pos"/>.</summary>
    private ParseStatus ReadInteger(ReadOnlySpan<byte> input, ref int pos, int prefixBits, out int value)
    {
        var status = HpackInteger.Read(input, ref pos, prefixBits, out value);
        return status == ParseStatus.Rejected ? Reject("integer exceeds the implementation limit") : status;
    }

    private ParseStatus Reject(string error)
    {
        Error = error;
        return ParseStatus.Rejected;
    }
}

/// <summary>HPACK's prefix integers (RFC 7541 §5.1).</summary>
internal static class HpackInteger
{
    /// <summary>Reads an integer whose first byte's low <paramref name="prefixBits"/> bits start it; NeedMoreData when
    /// cut; Rejected past 2^31 - 1 or with more than 5 continuation bytes.</summary>
    public static ParseStatus Read(ReadOnlySpan<byte> input, ref int pos, int prefixBits, out int value)
    {
        value = 0;
        var p = pos;
        if (p >= input.Length)
        {
            return ParseStatus.NeedMoreData;
        }

        var mask = (1 << prefixBits) - 1;
        long result = input[p++] & mask;
        if (result == mask)
        {
            var shift = 0;
            for (var n = 0; ; n++)
            {
                if (p >= input.Length)
                {
                    return ParseStatus.NeedMoreData;
                }

                if (n == 5)
                {
                    return ParseStatus.Rejected;
                }

                var b = input[p++];
                result += (long)(b & 0x7F) << shift;
                shift += 7;
                if (result > int.MaxValue)
                {
                    return ParseStatus.Rejected;
                }

                if ((b & 0x80) == 0)
                {
                    break;
                }
            }
        }

        value = (int)result;
        pos = p;
        return ParseStatus.Complete;
    }

    /// <summary>Writes <paramref name="value"/> with an N-bit prefix; <paramref name="flags"/> are the first byte's high bits.</summary>
    public static int Write(Span<byte> output, int value, int prefixBits, byte flags)
    {
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            output[0] = (byte)(flags | value);
            return 1;
        }

        output[0] = (byte)(flags | mask);
        value -= mask;
        var i = 1;
        while (value >= 0x80)
        {
            output[i++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        output[i++] = (byte)value;
        return i;
    }
}
