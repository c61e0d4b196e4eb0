namespace Membrane.Proxy.Http2.Hpack;

/// <summary>The 61 entries of HPACK's static table (RFC 7541 Appendix A), 1-based, and lookups for the encoder.</summary>
internal static class HpackStaticTable
{
    /// <summary>Number of entries; dynamic table indices start after it.</summary>
    public const int Count = 61;

    /// <summary>Index of <c>:authority</c>.</summary>
    public const int Authority = 1;

    /// <summary>Index of <c>:method GET</c>.</summary>
    public const int MethodGet = 2;

    /// <summary>Index of <c>:method POST</c>.</summary>
    public const int MethodPost = 3;

    /// <summary>Index of <c>:path /</c>.</summary>
    public const int PathRoot = 4;

    /// <summary>Index of <c>:scheme http</c>.</summary>
    public const int SchemeHttp = 6;

    /// <summary>Index of <c>:scheme https</c>.</summary>
    public const int SchemeHttps = 7;

    /// <summary>Index of <c>:status 200</c>.</summary>
    public const int Status200 = 8;

    /// <summary>Index of <c>content-length</c>.</summary>
    public const int ContentLength = 28;

    /// <summary>Index of <c>content-type</c>.</summary>
    public const int ContentType = 31;

    private static readonly byte[][] Names;
    private static readonly byte[][] Values;

    // Entries by name length, for the encoder's name lookup (names are at most 27 bytes long).
    private static readonly int[][] ByNameLength;

    static HpackStaticTable()
    {
        (string Name, string Value)[] entries =
        [
            (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
            (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
            (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
            ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
            ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
            ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
            ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
            ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
            ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
            ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
            ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
            ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
            ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
        ];
        Names = new byte[Count + 1][];
        Values = new byte[Count + 1][];
        Names[0] = Values[0] = [];
        var byLength = new List<int>[32];
        for (var i = 0; i < entries.Length; i++)
        {
            Names[i + 1] = System.Text.Encoding.ASCII.GetBytes(entries[i].Name);
            Values[i + 1] = System.Text.Encoding.ASCII.GetBytes(entries[i].Value);
            (byLength[entries[i].Name.Length] ??= []).Add(i + 1);
        }

        ByNameLength = [.. byLength.Select(l => l is null ? Array.Empty<int>() : l.ToArray())];
    }

    /// <summary>The name of entry <paramref name="index"/> (1..61).</summary>
    public static ReadOnlySpan<byte> Name(int index) => Names[index];

    /// <summary>The value of entry <paramref name="index"/> (1..61); empty for name-only entries.</summary>
    public static ReadOnlySpan<byte> Value(int index) => Values[index];

    /// <summary>
    /// Finds <paramref name="name"/>: returns the index of an entry with the same name and value if there is one
    /// (<paramref name="fullMatch"/> true), else the first entry with the same name, else 0.
    /// </summary>
    public static int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out bool fullMatch)
    {
        fullMatch = false;
        if (name.Length >= ByNameLength.Length)
        {
            return 0;
        }

        var nameIndex = 0;
        foreach (var i in ByNameLength[name.Length])
        {
            if (!name.SequenceEqual(Names[i]))
            {
                continue;
            }

            if (Values[i].Length > 0 && value.SequenceEqual(Values[i]))
            {
                fullMatch = true;
                return i;
            }

            if (nameIndex == 0)
            {
                nameIndex = i;
            }
        }

        return nameIndex;
    }
}
