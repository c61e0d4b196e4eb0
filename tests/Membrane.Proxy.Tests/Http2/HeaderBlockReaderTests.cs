using System.Buffers;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2;
using Membrane.Proxy.Http2.Hpack;
using Membrane.Proxy.Tests.Kafka;
using Membrane.Proxy.Tests.Support;
using static Membrane.Proxy.Tests.Http2.Hpack.HpackTestSupport;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>Header blocks cut into HEADERS and CONTINUATION fragments at every point, each fragment itself segmented.</summary>
public sealed class HeaderBlockReaderTests
{
    private static readonly byte[] Block = H2Wire.Block(
        (":method", "POST"), (":scheme", "http"), (":path", "/com.example.catalog.ProductService/GetProduct"),
        ("content-type", "application/grpc"), ("x-long", new string('l', 300)), ("!authorization", "Bearer abc"));

    [Fact]
    public void EveryCutIntoTwoOrThreeFragmentsDecodesTheSame()
    {
        var expected = Decode([Block]);
        for (var i = 0; i <= Block.Length; i++)
        {
            Assert.Equal(expected, Decode([Block[..i], Block[i..]]));
            for (var j = i; j <= Block.Length; j += 7)
            {
                Assert.Equal(expected, Decode([Block[..i], Block[i..j], Block[j..]]));
            }
        }
    }

    [Fact]
    public void FragmentsSplitAcrossSegmentsDecodeTheSame()
    {
        var expected = Decode([Block]);
        var reader = new HeaderBlockReader(new HpackDecoder(), 1 << 20);
        var list = new HeaderList();
        reader.Begin(1, false, list);
        Assert.Equal(ParseStatus.Complete, reader.Feed(SegmentedSequence.ByteByByte(Block), endHeaders: true));
        Assert.Equal(expected, Text(Fields(list)));
    }

    [Fact]
    public void ABlockOverTheByteLimitIsRejected()
    {
        var reader = new HeaderBlockReader(new HpackDecoder(), 100);
        reader.Begin(1, false, new HeaderList());
        Assert.Equal(ParseStatus.NeedMoreData, reader.Feed(new ReadOnlySequence<byte>(Block[..60]), endHeaders: false));
        Assert.Equal(ParseStatus.Rejected, reader.Feed(new ReadOnlySequence<byte>(Block[60..120]), endHeaders: false));
        Assert.Contains("CONTINUATION flood", reader.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBlockMayEndInsideNoRepresentation()
    {
        var reader = new HeaderBlockReader(new HpackDecoder(), 1 << 20);
        reader.Begin(1, false, new HeaderList());
        Assert.Equal(ParseStatus.Rejected, reader.Feed(new ReadOnlySequence<byte>(Block[..^1]), endHeaders: true));
    }

    private static string Decode(byte[][] fragments)
    {
        var reader = new HeaderBlockReader(new HpackDecoder(), 1 << 20);
        var list = new HeaderList();
        reader.Begin(1, true, list);
        Assert.Equal(1, reader.StreamId);
        for (var i = 0; i < fragments.Length; i++)
        {
            var last = i == fragments.Length - 1;
            var status = reader.Feed(new ReadOnlySequence<byte>(fragments[i]), last);
            Assert.Equal(last ? ParseStatus.Complete : ParseStatus.NeedMoreData, status);
        }

        Assert.Equal(0, reader.StreamId);
        Assert.True(reader.EndStream);
        Assert.True(list.IsNeverIndexed(list.Count - 1));
        return Text(Fields(list));
    }
}
