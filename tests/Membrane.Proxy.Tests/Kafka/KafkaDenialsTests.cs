using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// The proxy's answers to denied requests, decoded field by field with the response schemas (Apache Kafka
/// <c>*Response.json</c>) written out independently here: every requested topic and partition comes back with the
/// right error, and the frame ends exactly where the schema ends.
/// </summary>
public sealed class KafkaDenialsTests
{
    private static readonly TopicSpec[] Topics = [new("orders", 0, 1), new("payments", 7)];

    public static TheoryData<short, short> PerPartitionApis()
    {
        var data = new TheoryData<short, short>();
        foreach (var (key, v) in KafkaRequestBuilder.ParsedApiVersions())
        {
            if (key is KafkaApis.Produce or KafkaApis.Fetch or KafkaApis.ListOffsets or KafkaApis.OffsetCommit or KafkaApis.OffsetFetch
                or KafkaApis.DeleteRecords or KafkaApis.OffsetForLeaderEpoch or KafkaApis.TxnOffsetCommit or KafkaApis.AddPartitionsToTxn)
            {
                data.Add(key, v);
            }
        }

        return data;
    }

    private static (KafkaRequest Request, byte[] Payload) Deny(short key, short v, TopicSpec[]? topics = null)
    {
        var q = new KafkaRequest();
        var frame = KafkaRequestBuilder.Build(key, v, topics ?? Topics, correlationId: 4242);
        Assert.Equal(KafkaParseStatus.Complete, KafkaRequestParser.Parse(new ReadOnlySequence<byte>(frame), q, 1 << 20, out _, out _));
        var w = new KafkaWriter();
        Assert.True(KafkaDenials.TryWrite(q, w));
        var bytes = w.WrittenSpan.ToArray();
        Assert.Equal(bytes.Length - 4, BinaryPrimitives.ReadInt32BigEndian(bytes));
        Assert.Equal(4242, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)));
        return (q, bytes[4..]);
    }

    [Theory]
    [MemberData(nameof(PerPartitionApis))]
    public void EveryTopicAndPartitionIsEchoedWithTopicAuthorizationFailed(short key, short v)
    {
        var (_, payload) = Deny(key, v);
        var seen = KafkaResponseSchemas.Decode(payload, key, v);
        Assert.Equal([("orders", 0, (short)29), ("orders", 1, (short)29), ("payments", 7, (short)29)], seen);
    }

    [Theory]
    [MemberData(nameof(AllParsedApiVersions))]
    public void EveryParsedApiAndVersionHasADenialShape(short key, short v)
    {
        var (_, payload) = Deny(key, v);
        Assert.True(payload.Length >= 6);
    }

    public static TheoryData<short, short> AllParsedApiVersions() => KafkaRequestParserTests.AllParsedApiVersions();

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    public void FindCoordinatorDenialIsGroupAuthorizationFailed(short v)
    {
        var (_, payload) = Deny(KafkaApis.FindCoordinator, v);
        var r = new KafkaReader(new ReadOnlySequence<byte>(payload));
        var f = v >= 3;
        Assert.True(r.TryInt32(out _) && r.TrySkipTags(f) && (v < 1 || r.Skip(4)));
        if (v <= 3)
        {
            Assert.True(r.TryInt16(out var error) && error == KafkaErrors.GroupAuthorizationFailed);
            Assert.True((v < 1 || r.TrySkipString(f)) && r.TryInt32(out var node) && node == -1 && r.TrySkipString(f) && r.Skip(4));
        }
        else
        {
            Assert.True(r.TryArrayLength(f, out var keys) && keys == 1 && r.TrySkipString(f) && r.Skip(4) && r.TrySkipString(f) && r.Skip(4));
            Assert.True(r.TryInt16(out var error) && error == KafkaErrors.GroupAuthorizationFailed && r.TrySkipString(f) && r.TrySkipTags(f));
        }

        Assert.True(r.TrySkipTags(f) && r.End);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(12)]
    [InlineData(13)]
    public void MetadataDenialDecodesAsErrorTwentyNinePerTopic(short v)
    {
        var (_, payload) = Deny(KafkaApis.Metadata, v);
        var (brokers, topics) = ResponseDecoder.Metadata(payload, v);
        Assert.Empty(brokers);
        Assert.Equal([new ResponseDecoder.Topic(29, "orders"), new ResponseDecoder.Topic(29, "payments")], topics);
    }

    [Fact]
    public void JoinGroupDenialIsGroupAuthorizationFailedInEveryVersion()
    {
        for (short v = 0; v <= 9; v++)
        {
            var (_, payload) = Deny(KafkaApis.JoinGroup, v);
            var f = v >= 6;
            var r = new KafkaReader(new ReadOnlySequence<byte>(payload));
            short error = 0;
            var generation = 0;
            Assert.True(r.TryInt32(out _) && r.TrySkipTags(f) && (v < 2 || r.Skip(4)) && r.TryInt16(out error) && r.TryInt32(out generation));
            Assert.Equal(KafkaErrors.GroupAuthorizationFailed, error);
            Assert.Equal(-1, generation);
            Assert.True((v < 7 || r.TrySkipString(f)) && r.TrySkipString(f) && r.TrySkipString(f) && (v < 9 || r.Skip(1)) && r.TrySkipString(f));
            Assert.True(r.TryArrayLength(f, out var members) && members == 0 && r.TrySkipTags(f) && r.End);
        }
    }
}
