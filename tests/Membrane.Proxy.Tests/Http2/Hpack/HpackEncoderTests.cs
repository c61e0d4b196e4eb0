using System.Text;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;
using static Membrane.Proxy.Tests.Http2.Hpack.HpackTestSupport;

namespace Membrane.Proxy.Tests.Http2.Hpack;

public sealed class HpackEncoderTests
{
    [Theory]
    [InlineData(":method", "POST", false, "83")]
    [InlineData(":scheme", "http", false, "86")]
    [InlineData(":path", "/sample/path", false, "040c 2f73 616d 706c 652f 7061 7468")] // RFC 7541 C.2.2
    [InlineData("password", "secret", true, "1008 7061 7373 776f 7264 0673 6563 7265 74")] // C.2.3
    [InlineData("content-type", "application/grpc", false, "0f10 1061 7070 6c69 6361 7469 6f6e 2f67 7270 63")]
    [InlineData(":method", "POST", true, "13 04 504f 5354")] // never-indexed wins over a full match
    public void EncodesStaticIndexesAndLiteralsWithoutIndexing(string name, string value, bool neverIndexed, string hex)
    {
        var output = new byte[HpackEncoder.MaxEncodedLength(name.Length, value.Length)];
        var n = HpackEncoder.Encode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), neverIndexed, output);
        Assert.Equal(Hex(hex), output.AsSpan(0, n).ToArray());
    }

    [Theory]
    [InlineData(200, "88")]
    [InlineData(404, "8d")]
    [InlineData(403, "08 03 343033")]
    [InlineData(503, "08 03 353033")]
    public void EncodesStatus(int status, string hex)
    {
        var output = new byte[8];
        Assert.Equal(Hex(hex), output.AsSpan(0, HpackEncoder.EncodeStatus(status, output)).ToArray());
    }

    [Fact]
    public void WhatItEncodesDecodesBackAndLeavesTheTableEmpty()
    {
        var random = new Random(3);
        var fields = new List<(string, string, bool)>
        {
            (":method", "GET", false), (":path", "/com.example.catalog.ProductService/GetProduct", false), (":authority", "catalog:50051", false),
            ("te", "trailers", false), ("user-agent", new string('u', 300), false), ("x-secret", "s", true), ("", "", false),
        };
        for (var i = 0; i < 50; i++)
        {
            var name = new byte[random.Next(1, 40)];
            random.NextBytes(name);
            var value = new byte[random.Next(0, 200)];
            random.NextBytes(value);
            fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value), random.Next(2) == 0));
        }

        var block = new List<byte>();
        foreach (var (n, v, never) in fields)
        {
            var output = new byte[HpackEncoder.MaxEncodedLength(n.Length, v.Length)];
            var written = HpackEncoder.Encode(Encoding.Latin1.GetBytes(n), Encoding.Latin1.GetBytes(v), never, output);
            block.AddRange(output.AsSpan(0, written).ToArray());
        }

        var decoder = new HpackDecoder();
        var list = new HeaderList(1 << 20, 1000);
        Assert.Equal(ParseStatus.Complete, decoder.Decode(block.ToArray(), true, list, out _));
        Assert.Equal(Text(fields.Select(f => (f.Item1, f.Item2))), Text(Fields(list)));
        Assert.Equal(fields.Select(f => f.Item3).ToList(), Enumerable.Range(0, list.Count).Select(list.IsNeverIndexed).ToList());
        Assert.Equal(0, decoder.Table.Count);
    }

    [Fact]
    public void IntegersUseTheirPrefixAndContinuationBytes()
    {
        // RFC 7541 C.1: 10 in a 5-bit prefix, 1337 in a 5-bit prefix, 42 at an octet boundary.
        var output = new byte[8];
        Assert.Equal(Hex("0a"), output.AsSpan(0, HpackInteger.Write(output, 10, 5, 0)).ToArray());
        Assert.Equal(Hex("1f 9a 0a"), output.AsSpan(0, HpackInteger.Write(output, 1337, 5, 0)).ToArray());
        Assert.Equal(Hex("2a"), output.AsSpan(0, HpackInteger.Write(output, 42, 8, 0)).ToArray());
        var pos = 0;
        Assert.Equal(ParseStatus.Complete, HpackInteger.Read(Hex("1f 9a 0a"), ref pos, 5, out var value));
        Assert.Equal((1337, 3), (value, pos));
    }
}
