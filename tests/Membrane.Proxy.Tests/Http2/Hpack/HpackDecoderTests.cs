using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;
using static Membrane.Proxy.Tests.Http2.Hpack.HpackTestSupport;

namespace Membrane.Proxy.Tests.Http2.Hpack;

/// <summary>RFC 7541 Appendix C, fed whole, at every prefix, at every 2- and 3-segment split and byte by byte.</summary>
public sealed class HpackDecoderTests
{
    private static readonly (string Name, string Value)[] Request1 = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
    private static readonly (string Name, string Value)[] Request2 = [.. Request1, ("cache-control", "no-cache")];
    private static readonly (string Name, string Value)[] Request3 = [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")];
    private static readonly (string Name, string Value)[] Table3 = [("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")];

    private static readonly (string Name, string Value)[] Response1 = [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];
    private static readonly (string Name, string Value)[] Response2 = [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];
    private static readonly (string Name, string Value)[] Response3 =
    [
        (":status", "200"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"), ("location", "https://www.example.com"),
        ("content-encoding", "gzip"), ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
    ];

    private static readonly (string Name, string Value)[] ResponseTable3 =
        [("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"), ("content-encoding", "gzip"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT")];

    // C.3 (raw strings) and C.4 (Huffman): three requests sharing one dynamic table.
    public static TheoryData<string, string[]> RequestSequences() => new()
    {
        {
            "C.3",
            [
                "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                "8286 84be 5808 6e6f 2d63 6163 6865",
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            ]
        },
        {
            "C.4",
            [
                "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                "8286 84be 5886 a8eb 1064 9cbf",
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ]
        },
    };

    // C.5 (raw) and C.6 (Huffman): three responses, table size 256, with evictions.
    public static TheoryData<string, string[]> ResponseSequences() => new()
    {
        {
            "C.5",
            [
                "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                "4803 3330 37c1 c0bf",
                "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
            ]
        },
        {
            "C.6",
            [
                "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
                "4883 640e ffc1 c0bf",
                "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            ]
        },
    };

    [Theory]
    [MemberData(nameof(RequestSequences))]
    public void DecodesTheRequestExamples(string section, string[] blocks)
    {
        _ = section;
        var decoder = new HpackDecoder();
        Assert.Equal((ParseStatus.Complete, Text(Request1)), Decode(decoder, Hex(blocks[0])));
        Assert.Equal(57, decoder.Table.Size);
        Assert.Equal((ParseStatus.Complete, Text(Request2)), Decode(decoder, Hex(blocks[1])));
        Assert.Equal(110, decoder.Table.Size);
        Assert.Equal((ParseStatus.Complete, Text(Request3)), Decode(decoder, Hex(blocks[2])));
        Assert.Equal(164, decoder.Table.Size);
        Assert.Equal(Table3, Table(decoder));
    }

    [Theory]
    [MemberData(nameof(ResponseSequences))]
    public void DecodesTheResponseExamplesWithEvictions(string section, string[] blocks)
    {
        _ = section;
        var decoder = new HpackDecoder(maxTableSize: 256);
        Assert.Equal((ParseStatus.Complete, Text(Response1)), Decode(decoder, Hex(blocks[0])));
        Assert.Equal(222, decoder.Table.Size);
        Assert.Equal((ParseStatus.Complete, Text(Response2)), Decode(decoder, Hex(blocks[1])));
        Assert.Equal(222, decoder.Table.Size);
        Assert.Equal((ParseStatus.Complete, Text(Response3)), Decode(decoder, Hex(blocks[2])));
        Assert.Equal(215, decoder.Table.Size);
        Assert.Equal(ResponseTable3, Table(decoder));
    }

    [Theory]
    [MemberData(nameof(RequestSequences))]
    [MemberData(nameof(ResponseSequences))]
    public void EveryPrefixLeavesTheIncompleteFieldUnconsumed(string section, string[] blocks)
    {
        var tableSize = section is "C.5" or "C.6" ? 256 : 4096;
        var last = Hex(blocks[^1]);
        var expected = Decode(Prepared(blocks, tableSize), last);
        for (var p = 0; p < last.Length; p++)
        {
            var decoder = Prepared(blocks, tableSize);
            var list = new HeaderList();
            var status = decoder.Decode(last.AsSpan(0, p), endOfBlock: false, list, out var consumed);
            Assert.Equal(ParseStatus.NeedMoreData, status);
            Assert.InRange(consumed, 0, p);
            // The rest of the block, after what was left unconsumed, completes it identically.
            var rest = last.AsSpan(consumed).ToArray();
            Assert.Equal(ParseStatus.Complete, decoder.Decode(rest, endOfBlock: true, list, out var restConsumed));
            Assert.Equal(rest.Length, restConsumed);
            Assert.Equal(expected.Fields, Text(Fields(list)));
        }
    }

    [Theory]
    [MemberData(nameof(RequestSequences))]
    [MemberData(nameof(ResponseSequences))]
    public void EverySplitInTwoAndThreeSegmentsAndByteByByteDecodesTheSame(string section, string[] blocks)
    {
        var tableSize = section is "C.5" or "C.6" ? 256 : 4096;
        var last = Hex(blocks[^1]);
        var whole = Prepared(blocks, tableSize);
        var expected = Decode(whole, last);
        var expectedTable = Table(whole);
        for (var i = 1; i < last.Length; i++)
        {
            Check(i);
            for (var j = i + 1; j < last.Length; j += 3)
            {
                Check(i, j);
            }
        }

        Check([.. Enumerable.Range(1, last.Length - 1)]);

        void Check(params int[] cuts)
        {
            var decoder = Prepared(blocks, tableSize);
            Assert.Equal(expected, Decode(decoder, last, cuts));
            Assert.Equal(expectedTable, Table(decoder));
        }
    }

    [Theory]
    [InlineData("80", "index 0")]
    [InlineData("be", "past the tables")] // dynamic index 62 with an empty table
    [InlineData("82 3f e1 1f", "after a header field")] // size update after a field
    [InlineData("3f e2 1f", "above SETTINGS_HEADER_TABLE_SIZE")] // size update to 4097
    [InlineData("82 ff 80 80 80 80 80 00", "implementation limit")] // index with more than 5 continuation bytes
    [InlineData("82 ff ff ff ff ff 07", "implementation limit")] // index above 2^31 - 1
    [InlineData("82 ff ff ff ff 7f", "past the tables")] // a large index that fits
    [InlineData("00 82 1f ff 01 61", "Huffman")] // literal name "a" followed by 11 bits of padding
    [InlineData("82 84", null)] // trailing: complete block (control)
    [InlineData("82 0f", "ends inside")] // literal whose index continues past the block
    [InlineData("82 00 03 61", "ends inside")] // name string cut by the end of the block
    public void RejectsMalformedBlocksAndTrailingGarbage(string hex, string? error)
    {
        var decoder = new HpackDecoder();
        var (status, _) = Decode(decoder, Hex(hex));
        if (error is null)
        {
            Assert.Equal(ParseStatus.Complete, status);
            return;
        }

        Assert.Equal(ParseStatus.Rejected, status);
        Assert.Contains(error, decoder.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void AStringLongerThanTheLimitIsRefusedBeforeItArrives()
    {
        var decoder = new HpackDecoder(maxStringLength: 100);
        var list = new HeaderList();
        // Literal without indexing, new name of 101 bytes announced; only the length is there.
        Assert.Equal(ParseStatus.Rejected, decoder.Decode(Hex("00 7f 26"), endOfBlock: false, list, out _));
        Assert.Contains("longer than the limit", decoder.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void SizeUpdatesAtTheStartOfABlockEvictAndMayRepeat()
    {
        var decoder = Prepared(RequestSequences().Select(r => (string[])r[1]).First(), 4096);
        Assert.Equal(110, decoder.Table.Size);
        // Two updates (to 0, then back to 4096), then an indexed field: the table is empty afterwards.
        Assert.Equal((ParseStatus.Complete, ":method: GET"), Decode(decoder, Hex("20 3f e1 1f 82")));
        Assert.Equal(0, decoder.Table.Count);
        Assert.Equal(4096, decoder.Table.MaxSize);
    }

    [Fact]
    public void ABlockOverTheListLimitIsDecodedToTheEndButMarked()
    {
        var decoder = new HpackDecoder();
        var list = new HeaderList(maxListSize: 100, maxFields: 100);
        // Two literals with incremental indexing (name "aaaa", 40-byte values): 2 x 76 > 100.
        var value = new string('v', 40);
        var block = new List<byte>();
        for (var i = 0; i < 2; i++)
        {
            block.AddRange(Hex("40 04"));
            block.AddRange("aaaa"u8.ToArray());
            block.Add(40);
            block.AddRange(System.Text.Encoding.ASCII.GetBytes(value));
        }

        Assert.Equal(ParseStatus.Complete, decoder.Decode(block.ToArray(), true, list, out _));
        Assert.True(list.OverLimit);
        Assert.Equal(1, list.Count);
        // Both entries still entered the dynamic table: the decoder stays in step with the encoder.
        Assert.Equal(2, decoder.Table.Count);
    }

    [Fact]
    public void NeverIndexedFieldsAreMarked()
    {
        var decoder = new HpackDecoder();
        var list = new HeaderList();
        Assert.Equal(ParseStatus.Complete, decoder.Decode(Hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), true, list, out _));
        Assert.Equal("password: secret", Text(Fields(list)));
        Assert.True(list.IsNeverIndexed(0));
        Assert.Equal(0, decoder.Table.Count);
    }

    private static HpackDecoder Prepared(string[] blocks, int tableSize)
    {
        var decoder = new HpackDecoder(maxTableSize: tableSize);
        foreach (var b in blocks[..^1])
        {
            Assert.Equal(ParseStatus.Complete, Decode(decoder, Hex(b)).Status);
        }

        return decoder;
    }
}
