using System.Text;
using Membrane.Proxy.Http;

namespace Membrane.Proxy.Tests.Http;

public sealed class ChunkedDecoderTests
{
    private const string Body = "5\r\nhello\r\n1;ext=1\r\n \r\nC\r\n world again\r\n0\r\nTrailer: x\r\n\r\n";
    private const string Payload = "hello  world again";

    /// <summary>Feeds <paramref name="segments"/> one by one, keeping unconsumed bytes, as the relay does.</summary>
    private static (ChunkStatus Status, string Payload, int Consumed) Decode(IEnumerable<byte[]> segments)
    {
        var decoder = default(ChunkedDecoder);
        var payload = new StringBuilder();
        var pending = new List<byte>();
        var consumedTotal = 0;
        foreach (var segment in segments)
        {
            pending.AddRange(segment);
            while (true)
            {
                var span = pending.ToArray().AsSpan();
                var status = decoder.Read(span, out var consumed, out var offset, out var length);
                if (status == ChunkStatus.Data)
                {
                    payload.Append(Encoding.ASCII.GetString(span.Slice(offset, length)));
                }

                pending.RemoveRange(0, consumed);
                consumedTotal += consumed;
                if (status is ChunkStatus.Complete or ChunkStatus.Rejected)
                {
                    return (status, payload.ToString(), consumedTotal);
                }

                if (status == ChunkStatus.NeedMoreData)
                {
                    break;
                }
            }
        }

        return (ChunkStatus.NeedMoreData, payload.ToString(), consumedTotal);
    }

    [Fact]
    public void DecodesInOneSegment()
    {
        var (status, payload, consumed) = Decode([Encoding.ASCII.GetBytes(Body)]);
        Assert.Equal(ChunkStatus.Complete, status);
        Assert.Equal(Payload, payload);
        Assert.Equal(Body.Length, consumed);
    }

    [Fact]
    public void EveryPrefixNeedsMoreData()
    {
        var bytes = Encoding.ASCII.GetBytes(Body);
        for (var i = 0; i < bytes.Length; i++)
        {
            Assert.Equal(ChunkStatus.NeedMoreData, Decode([bytes[..i]]).Status);
        }
    }

    [Fact]
    public void ByteByByte()
    {
        var (status, payload, _) = Decode(Encoding.ASCII.GetBytes(Body).Select(b => new[] { b }));
        Assert.Equal(ChunkStatus.Complete, status);
        Assert.Equal(Payload, payload);
    }

    [Fact]
    public void EveryTwoAndThreeSegmentSplit()
    {
        var bytes = Encoding.ASCII.GetBytes(Body);
        for (var a = 0; a <= bytes.Length; a++)
        {
            for (var b = a; b <= bytes.Length; b++)
            {
                var (status, payload, consumed) = Decode([bytes[..a], bytes[a..b], bytes[b..]]);
                Assert.Equal(ChunkStatus.Complete, status);
                Assert.Equal(Payload, payload);
                Assert.Equal(bytes.Length, consumed);
            }
        }
    }

    [Fact]
    public void TrailingGarbageIsLeftUnconsumed()
    {
        var (status, payload, consumed) = Decode([Encoding.ASCII.GetBytes(Body + "GET /next HTTP/1.1\r\n")]);
        Assert.Equal(ChunkStatus.Complete, status);
        Assert.Equal(Payload, payload);
        Assert.Equal(Body.Length, consumed);
    }

    [Theory]
    [InlineData("10000000000000000\r\n")]
    [InlineData("fffffffffffffff0\r\n")]
    [InlineData("x\r\n")]
    [InlineData("\r\n")]
    [InlineData("5\nhello\r\n0\r\n\r\n")]
    [InlineData("5\r\nhelloX\r\n0\r\n\r\n")]
    [InlineData("5\r\nhello\r\n0\r\n\n")]
    [InlineData("5;a\nb\r\nhello\r\n")]
    [InlineData("-5\r\nhello\r\n")]
    [InlineData("0\r\nTrailer: a\0b\r\n\r\n")]
    public void RejectsMalformedFraming(string body)
    {
        var (status, _, _) = Decode([Encoding.Latin1.GetBytes(body)]);
        Assert.Equal(ChunkStatus.Rejected, status);
    }

    [Fact]
    public void LongExtensionsAndTrailersAreLimited()
    {
        Assert.Equal(ChunkStatus.Rejected, Decode([Encoding.ASCII.GetBytes("1;" + new string('a', 5000) + "\r\n")]).Status);
        Assert.Equal(ChunkStatus.Rejected, Decode([Encoding.ASCII.GetBytes("0\r\nX: " + new string('a', 17000) + "\r\n\r\n")]).Status);
    }
}
