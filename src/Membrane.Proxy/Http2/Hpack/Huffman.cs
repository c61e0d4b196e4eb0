namespace Membrane.Proxy.Http2.Hpack;

/// <summary>
/// HPACK's static Huffman code (RFC 7541 §5.2, Appendix B). Decoding walks a table of 4-bit transitions built once from
/// the code lengths (the code is canonical: codes are assigned in order of length, then symbol), so a string is
/// decoded two transitions per input byte without branching on single bits. Pure and allocation-free.
/// </summary>
internal static class Huffman
{
    /// <summary>The end-of-string symbol (30 ones); it must never appear inside a string (§5.2).</summary>
    public const int Eos = 256;

    private const uint Emit = 1u << 16;
    private const uint Accepting = 1u << 17;
    private const uint Failure = 1u << 18;

    // Code length of each symbol 0..256 (RFC 7541 Appendix B, "len in bits").
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ];

    private static readonly uint[] Codes = BuildCodes();

    // Decoding state machine: state = an internal node of the code tree (0 = root, 256 internal nodes); entry
    // [state * 16 + nibble] = next state (bits 0-7) | symbol (bits 8-15) | Emit | Accepting | Failure.
    private static readonly uint[] Transitions = BuildTransitions();

    /// <summary>The code of <paramref name="symbol"/>, right-aligned, and its length in bits.</summary>
    public static (uint Code, int Length) Code(int symbol) => (Codes[symbol], Lengths[symbol]);

    /// <summary>The number of bytes <paramref name="input"/> takes Huffman-encoded.</summary>
    public static int EncodedLength(ReadOnlySpan<byte> input)
    {
        long bits = 0;
        foreach (var b in input)
        {
            bits += Lengths[b];
        }

        return (int)((bits + 7) / 8);
    }

    /// <summary>
    /// Encodes <paramref name="input"/> into <paramref name="output"/> (which holds at least
    /// <see cref="EncodedLength"/> bytes), padding with the most significant bits of EOS; returns the bytes written.
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        ulong acc = 0;
        var bits = 0;
        var o = 0;
        foreach (var b in input)
        {
            acc = (acc << Lengths[b]) | Codes[b];
            bits += Lengths[b];
            while (bits >= 8)
            {
                bits -= 8;
                output[o++] = (byte)(acc >> bits);
            }
        }

        if (bits > 0)
        {
            output[o++] = (byte)((acc << (8 - bits)) | (0xFFu >> bits));
        }

        return o;
    }

    /// <summary>
    /// Decodes <paramref name="input"/> into <paramref name="output"/>; returns the bytes written, or -1 when the
    /// input is not a valid encoding: EOS inside the string, padding longer than 7 bits or not made of ones (§5.2),
    /// or an output too small. <paramref name="output"/> needs at most <c>input.Length * 8 / 5</c> bytes (the
    /// shortest code has 5 bits).
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var table = Transitions;
        uint state = 0;
        var accepting = true;
        var o = 0;
        foreach (var b in input)
        {
            var t = table[(state << 4) | (uint)(b >> 4)];
            if ((t & Emit) != 0)
            {
                if ((uint)o >= (uint)output.Length)
                {
                    return -1;
                }

                output[o++] = (byte)(t >> 8);
            }

            t = table[((t & 0xFF) << 4) | (uint)(b & 0xF)] | (t & Failure);
            if ((t & Emit) != 0)
            {
                if ((uint)o >= (uint)output.Length)
                {
                    return -1;
                }

                output[o++] = (byte)(t >> 8);
            }

            if ((t & Failure) != 0)
            {
                return -1;
            }

            state = t & 0xFF;
            accepting = (t & Accepting) != 0;
        }

        return accepting ? o : -1;
    }

    /// <summary>The largest number of bytes a Huffman string of <paramref name="encodedLength"/> bytes decodes to.</summary>
    public static int MaxDecodedLength(int encodedLength) => (int)((encodedLength * 8L + 4) / 5);

    private static uint[] BuildCodes()
    {
        var lengths = Lengths.ToArray();
        var order = Enumerable.Range(0, 257).OrderBy(s => lengths[s]).ThenBy(s => s).ToArray();
        var codes = new uint[257];
        uint code = 0;
        var previous = lengths[order[0]];
        for (var i = 0; i < order.Length; i++)
        {
            var s = order[i];
            if (i > 0)
            {
                code = (code + 1) << (lengths[s] - previous);
            }

            previous = lengths[s];
            codes[s] = code;
        }

        return codes;
    }

    private static uint[] BuildTransitions()
    {
        // The code tree: internal nodes numbered from 0 (root); children hold a node number, or -(symbol + 1) for leaves.
        var children = new List<int[]> { new[] { 0, 0 } };
        var depth = new List<int> { 0 };
        var onOnesPath = new List<bool> { true };
        var lengths = Lengths;
        for (var s = 0; s < 257; s++)
        {
            var node = 0;
            for (var bit = lengths[s] - 1; bit >= 0; bit--)
            {
                var b = (int)((Codes[s] >> bit) & 1);
                if (bit == 0)
                {
                    children[node][b] = -(s + 1);
                    break;
                }

                if (children[node][b] <= 0)
                {
                    children.Add(new[] { 0, 0 });
                    depth.Add(depth[node] + 1);
                    onOnesPath.Add(onOnesPath[node] && b == 1);
                    children[node][b] = children.Count - 1;
                }

                node = children[node][b];
            }
        }

        var table = new uint[children.Count * 16];
        for (var state = 0; state < children.Count; state++)
        {
            for (var nibble = 0; nibble < 16; nibble++)
            {
                var node = state;
                uint entry = 0;
                for (var bit = 3; bit >= 0; bit--)
                {
                    var child = children[node][(nibble >> bit) & 1];
                    if (child < 0)
                    {
                        var symbol = -child - 1;
                        if (symbol == Eos)
                        {
                            entry |= Failure;
                        }
                        else
                        {
                            entry |= Emit | ((uint)symbol << 8);
                        }

                        node = 0;
                    }
                    else
                    {
                        node = child;
                    }
                }

                // Padding is valid only as a prefix of EOS (all ones) of at most 7 bits (RFC 7541 §5.2).
                if (node == 0 || (onOnesPath[node] && depth[node] <= 7))
                {
                    entry |= Accepting;
                }

                table[state * 16 + nibble] = entry | (uint)node;
            }
        }

        return table;
    }
}
