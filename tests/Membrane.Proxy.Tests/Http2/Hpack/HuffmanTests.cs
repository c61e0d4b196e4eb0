using System.Text;
using Membrane.Proxy.Http2.Hpack;
using static Membrane.Proxy.Tests.Http2.Hpack.HpackTestSupport;

namespace Membrane.Proxy.Tests.Http2.Hpack;

public sealed class HuffmanTests
{
    [Theory]
    // RFC 7541 Appendix C.4 and C.6.
    [InlineData("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff")]
    [InlineData("no-cache", "a8eb 1064 9cbf")]
    [InlineData("custom-key", "25a8 49e9 5ba9 7d7f")]
    [InlineData("custom-value", "25a8 49e9 5bb8 e8b4 bf")]
    [InlineData("302", "6402")]
    [InlineData("private", "aec3 771a 4b")]
    [InlineData("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3")]
    public void EncodesAndDecodesTheRfcExamples(string text, string hex)
    {
        var encoded = Hex(hex);
        var plain = Encoding.ASCII.GetBytes(text);
        Assert.Equal(encoded.Length, Huffman.EncodedLength(plain));
        var output = new byte[encoded.Length];
        Assert.Equal(encoded.Length, Huffman.Encode(plain, output));
        Assert.Equal(encoded, output);
        var decoded = new byte[Huffman.MaxDecodedLength(encoded.Length)];
        var n = Huffman.Decode(encoded, decoded);
        Assert.Equal(text, Encoding.ASCII.GetString(decoded, 0, n));
    }

    [Fact]
    public void CodesMatchAppendixB()
    {
        // Spot checks against RFC 7541 Appendix B: the code is rebuilt canonically from the lengths.
        Assert.Equal((0x1ff8u, 13), Huffman.Code(0));
        Assert.Equal((0x14u, 6), Huffman.Code(' '));
        Assert.Equal((0x0u, 5), Huffman.Code('0'));
        Assert.Equal((0x7bu, 7), Huffman.Code('z'));
        Assert.Equal((0x7fff0u, 19), Huffman.Code('\\'));
        Assert.Equal((0x3ffffeeu, 26), Huffman.Code(255));
        Assert.Equal((0x3fffffffu, 30), Huffman.Code(Huffman.Eos));
    }

    [Fact]
    public void EveryByteValueRoundTrips()
    {
        var random = new Random(7);
        var inputs = Enumerable.Range(0, 300).Select(length =>
        {
            var plain = new byte[length];
            random.NextBytes(plain);
            return plain;
        }).Append([.. Enumerable.Range(0, 256).Select(b => (byte)b)]);
        foreach (var plain in inputs)
        {
            var encoded = new byte[Huffman.EncodedLength(plain)];
            Huffman.Encode(plain, encoded);
            var decoded = new byte[Huffman.MaxDecodedLength(encoded.Length)];
            var n = Huffman.Decode(encoded, decoded);
            Assert.Equal(plain, decoded.AsSpan(0, n).ToArray());
        }
    }

    [Fact]
    public void RejectsPaddingThatIsNotAnEosPrefixOfAtMostSevenBits()
    {
        var decoded = new byte[64];
        // "a" is 00011 (5 bits): padding 111 is valid, 000 or 101 is not.
        Assert.Equal(1, Huffman.Decode([0b00011111], decoded));
        Assert.Equal(-1, Huffman.Decode([0b00011000], decoded));
        Assert.Equal(-1, Huffman.Decode([0b00011101], decoded));
        // A whole byte of ones after a complete symbol is 8 bits of padding.
        Assert.Equal(-1, Huffman.Decode([0b00011111, 0xFF], decoded));
        // EOS itself (30 ones) inside a string.
        Assert.Equal(-1, Huffman.Decode([0xFF, 0xFF, 0xFF, 0xFF], decoded));
        // An empty string is valid.
        Assert.Equal(0, Huffman.Decode([], decoded));
    }

    [Fact]
    public void RejectsOutputTooSmall()
    {
        var encoded = Hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff");
        Assert.Equal(-1, Huffman.Decode(encoded, new byte[5]));
    }
}
