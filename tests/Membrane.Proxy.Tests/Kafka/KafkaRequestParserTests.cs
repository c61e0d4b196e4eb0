using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

public sealed class KafkaRequestParserTests
{
    private static readonly TopicSpec[] TwoTopics = [new("orders", 0, 1), new("payments.v2", 7)];

    private static readonly HashSet<short> WithPartitions =
    [
        KafkaApis.Produce, KafkaApis.Fetch, KafkaApis.ListOffsets, KafkaApis.OffsetCommit, KafkaApis.OffsetFetch,
        KafkaApis.DeleteRecords, KafkaApis.OffsetForLeaderEpoch, KafkaApis.AddPartitionsToTxn, KafkaApis.TxnOffsetCommit,
        KafkaApis.DescribeLogDirs, KafkaApis.ElectLeaders, KafkaApis.OffsetDelete, KafkaApis.DescribeProducers,
    ];

    private static readonly HashSet<short> WithoutTopics = [KafkaApis.ApiVersions, KafkaApis.InitProducerId, KafkaApis.FindCoordinator];

    private static readonly HashSet<short> InformationalTopics = [KafkaApis.JoinGroup, KafkaApis.ConsumerGroupHeartbeat];

    public static TheoryData<short, short> AllParsedApiVersions()
    {
        var data = new TheoryData<short, short>();
        foreach (var (key, v) in KafkaRequestBuilder.ParsedApiVersions())
        {
            data.Add(key, v);
        }

        return data;
    }

    private static KafkaParseStatus Parse(in ReadOnlySequence<byte> buffer, KafkaRequest q, out int length, out KafkaRejectReason reason) =>
        KafkaRequestParser.Parse(buffer, q, KafkaRequestParser.DefaultMaxFrameSize, out length, out reason);

    private static void AssertParsedAsBuilt(KafkaRequest q, short key, short v, byte[] frame)
    {
        Assert.Equal(key, q.ApiKey);
        Assert.Equal(v, q.ApiVersion);
        Assert.Equal(42, q.CorrelationId);
        Assert.Equal("membrane-test", Encoding.UTF8.GetString(q.ClientIdBytes));
        Assert.Equal(frame.Length - 4, q.PayloadLength);
        var names = q.Topics.ToArray().Select(t => Encoding.UTF8.GetString(q.NameOf(t))).ToArray();
        if (WithoutTopics.Contains(key))
        {
            Assert.Empty(names);
            return;
        }

        Assert.Equal(TwoTopics.Select(t => t.Name), names);
        Assert.Equal(InformationalTopics.Contains(key) ? 0 : 2, q.EvaluatedTopicCount);
        if (WithPartitions.Contains(key))
        {
            for (var i = 0; i < TwoTopics.Length; i++)
            {
                Assert.Equal(TwoTopics[i].Partitions, q.Ints[q.TopicAt(i).Partitions].ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllParsedApiVersions))]
    public void EveryApiAndVersionRoundTrips(short key, short v)
    {
        var frame = KafkaRequestBuilder.Build(key, v, TwoTopics);
        var q = new KafkaRequest();
        Assert.Equal(KafkaParseStatus.Complete, Parse(new ReadOnlySequence<byte>(frame), q, out var length, out var reason));
        Assert.Equal(KafkaRejectReason.None, reason);
        Assert.Equal(frame.Length, length);
        AssertParsedAsBuilt(q, key, v, frame);
    }

    [Theory]
    [MemberData(nameof(AllParsedApiVersions))]
    public void EveryPrefixNeedsMoreDataAndEverySplitParsesTheSame(short key, short v)
    {
        var frame = KafkaRequestBuilder.Build(key, v, TwoTopics);
        var q = new KafkaRequest();
        for (var n = 0; n < frame.Length; n++)
        {
            Assert.Equal(KafkaParseStatus.NeedMoreData, Parse(new ReadOnlySequence<byte>(frame, 0, n), q, out _, out _));
        }

        for (var i = 1; i < frame.Length; i++)
        {
            Assert.Equal(KafkaParseStatus.Complete, Parse(SegmentedSequence.Create(frame, i), q, out _, out _));
            AssertParsedAsBuilt(q, key, v, frame);
            for (var j = i + 1; j < frame.Length; j += 3)
            {
                Assert.Equal(KafkaParseStatus.Complete, Parse(SegmentedSequence.Create(frame, i, j), q, out _, out _));
            }
        }

        Assert.Equal(KafkaParseStatus.Complete, Parse(SegmentedSequence.ByteByByte(frame), q, out _, out _));
        AssertParsedAsBuilt(q, key, v, frame);
    }

    [Theory]
    [MemberData(nameof(AllParsedApiVersions))]
    public void TrailingGarbageAfterTheFrameIsNotConsumed(short key, short v)
    {
        var frame = KafkaRequestBuilder.Build(key, v, TwoTopics);
        byte[] garbage = [.. frame, 0xFF, 0x00, 0x13, 0x37, 0xFF, 0xFF, 0xFF];
        var q = new KafkaRequest();
        Assert.Equal(KafkaParseStatus.Complete, Parse(new ReadOnlySequence<byte>(garbage), q, out var length, out _));
        Assert.Equal(frame.Length, length);
        AssertParsedAsBuilt(q, key, v, frame);
    }

    [Theory]
    [MemberData(nameof(AllParsedApiVersions))]
    public void BytesAfterTheLastFieldInsideTheFrameAreRejected(short key, short v)
    {
        var frame = KafkaRequestBuilder.Build(key, v, TwoTopics);
        byte[] padded = [.. frame, 0];
        BinaryPrimitives.WriteInt32BigEndian(padded, padded.Length - 4);
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(padded), new KafkaRequest(), out _, out var reason));
        Assert.Equal(KafkaRejectReason.TrailingBytes, reason);
    }

    [Theory]
    [MemberData(nameof(AllParsedApiVersions))]
    public void EveryTruncatedBodyIsRejected(short key, short v)
    {
        var frame = KafkaRequestBuilder.Build(key, v, TwoTopics);
        var q = new KafkaRequest();
        for (var cut = 1; cut < frame.Length - 14; cut++)
        {
            var shorter = frame[..^cut];
            BinaryPrimitives.WriteInt32BigEndian(shorter, shorter.Length - 4);
            Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(shorter), q, out _, out var reason));
            Assert.NotEqual(KafkaRejectReason.None, reason);
        }
    }

    [Theory]
    [InlineData(KafkaApis.Produce, 13)]
    [InlineData(KafkaApis.Fetch, 13)]
    [InlineData(KafkaApis.OffsetCommit, 10)]
    [InlineData(KafkaApis.OffsetFetch, 10)]
    [InlineData(KafkaApis.DeleteTopics, 6)]
    [InlineData(KafkaApis.Metadata, 14)]
    [InlineData(KafkaApis.SaslHandshake, 0)]
    [InlineData(KafkaApis.Produce, -1)]
    public void VersionsAboveTheAdvertisedCapAreRejected(short key, short v)
    {
        var frame = Header(key, v);
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(frame), new KafkaRequest(), out _, out var reason));
        Assert.Equal(KafkaRejectReason.UnsupportedVersion, reason);
    }

    [Theory]
    [InlineData((short)4)] // LeaderAndIsr: inter-broker
    [InlineData((short)78)] // ShareFetch: topic ids only
    [InlineData((short)127)]
    [InlineData((short)-1)]
    public void UnknownApiKeysAreRejected(short key)
    {
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(Header(key, 0)), new KafkaRequest(), out _, out var reason));
        Assert.Equal(KafkaRejectReason.UnknownApiKey, reason);
    }

    [Fact]
    public void FramesAboveTheLimitAreRejectedFromTheSizePrefixAlone()
    {
        byte[] prefix = [0x00, 0x10, 0x00, 0x01];
        Assert.Equal(KafkaParseStatus.Rejected, KafkaRequestParser.Parse(new ReadOnlySequence<byte>(prefix), new KafkaRequest(), 1 << 20, out _, out var reason));
        Assert.Equal(KafkaRejectReason.FrameTooLarge, reason);
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>([0xFF, 0xFF, 0xFF, 0xFF]), new KafkaRequest(), out _, out reason));
        Assert.Equal(KafkaRejectReason.FrameTooSmall, reason);
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>([0, 0, 0, 3, 0, 0, 0]), new KafkaRequest(), out _, out reason));
        Assert.Equal(KafkaRejectReason.FrameTooSmall, reason);
    }

    [Fact]
    public void HostileArrayCountsAndStringLengthsAreRejectedWithoutAllocating()
    {
        // Produce v7: transactional id null, acks, timeout, then a topic count of 2^31-1.
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(0);
        w.Int16(7);
        w.Int32(1);
        w.String(false, "c"u8);
        w.Int16(-1);
        w.Int16(1);
        w.Int32(1000);
        w.Int32(int.MaxValue);
        w.EndFrame();
        var q = new KafkaRequest();
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(w.WrittenSpan.ToArray()), q, out _, out var reason));
        Assert.Equal(KafkaRejectReason.Malformed, reason);

        // Metadata v9 (flexible) with a topic name claiming 30000 bytes.
        w.Clear();
        w.BeginFrame();
        w.Int16(3);
        w.Int16(9);
        w.Int32(1);
        w.String(false, "c"u8);
        w.UVarint(0);
        w.UVarint(2);
        w.UVarint(30001);
        w.Raw("abc"u8);
        w.EndFrame();
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(w.WrittenSpan.ToArray()), q, out _, out reason));
        Assert.Equal(KafkaRejectReason.Malformed, reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(12)]
    [InlineData(13)]
    public void MetadataForAllTopicsIsRecognized(short v)
    {
        var q = new KafkaRequest();
        Assert.Equal(KafkaParseStatus.Complete, Parse(new ReadOnlySequence<byte>(KafkaRequestBuilder.Build(3, v, TwoTopics, allTopics: true)), q, out _, out _));
        Assert.True(q.AllTopics);
        Assert.Equal(0, q.TopicCount);
        Assert.Equal(KafkaParseStatus.Complete, Parse(new ReadOnlySequence<byte>(KafkaRequestBuilder.Build(3, v, TwoTopics)), q, out _, out _));
        Assert.False(q.AllTopics);
    }

    [Fact]
    public void MetadataNullTopicsBeforeVersionOneIsMalformed()
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(3);
        w.Int16(0);
        w.Int32(1);
        w.String(false, "c"u8);
        w.Int32(-1);
        w.EndFrame();
        Assert.Equal(KafkaParseStatus.Rejected, Parse(new ReadOnlySequence<byte>(w.WrittenSpan.ToArray()), new KafkaRequest(), out _, out var reason));
        Assert.Equal(KafkaRejectReason.Malformed, reason);
    }

    [Fact]
    public void ProduceAcksAndConfigResourceTypesAreRead()
    {
        var q = new KafkaRequest();
        Parse(new ReadOnlySequence<byte>(KafkaRequestBuilder.Build(0, 9, TwoTopics, acks: 0)), q, out _, out _);
        Assert.Equal(0, q.Acks);

        // A BROKER resource (type 4) is not a topic: it is kept for the denial echo but not evaluated.
        Parse(new ReadOnlySequence<byte>(KafkaRequestBuilder.Build(KafkaApis.DescribeConfigs, 4, TwoTopics, resourceType: 4)), q, out _, out _);
        Assert.Equal(0, q.TopicCount);
        Assert.Equal(2, q.ResourceCount);
    }

    [Fact]
    public void SteadyStateParsingAllocatesNothing()
    {
        var frames = new[] { KafkaRequestBuilder.Build(0, 9, TwoTopics), KafkaRequestBuilder.Build(1, 12, TwoTopics), KafkaRequestBuilder.Build(3, 12, TwoTopics) }
            .Select(f => new ReadOnlySequence<byte>(f)).ToArray();
        var q = new KafkaRequest();
        foreach (var f in frames)
        {
            Parse(f, q, out _, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Parse(frames[i % frames.Length], q, out _, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] Header(short key, short v)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(key);
        w.Int16(v);
        w.Int32(9);
        w.String(false, "c"u8);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }
}
