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
        var (q, payload) = Deny(key, v);
        var r = new KafkaReader(new ReadOnlySequence<byte>(payload));
        var f = q.Flexible;
        var arena = new KafkaByteArena();
        var seen = new List<(string Topic, int Partition, short Error)>();

        Assert.True(r.TryInt32(out _) && r.TrySkipTags(f));
        switch (key)
        {
            case KafkaApis.Produce:
                TopicsArray(ref r, key, v, f, arena, seen);
                Assert.True(v < 1 || r.Skip(4));
                break;
            case KafkaApis.Fetch:
                Assert.True(v < 1 || r.Skip(4));
                Assert.True(v < 7 || (r.TryInt16(out var top) && top == 0 && r.TryInt32(out var session) && session == 0));
                TopicsArray(ref r, key, v, f, arena, seen);
                break;
            case KafkaApis.ListOffsets:
                Assert.True(v < 2 || r.Skip(4));
                TopicsArray(ref r, key, v, f, arena, seen);
                break;
            case KafkaApis.OffsetCommit:
                Assert.True(v < 3 || r.Skip(4));
                TopicsArray(ref r, key, v, f, arena, seen);
                break;
            case KafkaApis.OffsetFetch when v <= 7:
                Assert.True(v < 3 || r.Skip(4));
                TopicsArray(ref r, key, v, f, arena, seen);
                Assert.True(v < 2 || (r.TryInt16(out var topError) && topError == 0));
                break;
            case KafkaApis.OffsetFetch:
                ByteRange group = default;
                Assert.True(r.Skip(4) && r.TryArrayLength(f, out var groups) && groups == 1 && r.TryString(f, arena, out group));
                Assert.Equal("group-a", Encoding.UTF8.GetString(arena[group]));
                TopicsArray(ref r, key, v, f, arena, seen);
                Assert.True(r.TryInt16(out var groupError) && groupError == 0 && r.TrySkipTags(f));
                break;
            case KafkaApis.OffsetForLeaderEpoch:
                Assert.True(v < 2 || r.Skip(4));
                TopicsArray(ref r, key, v, f, arena, seen);
                break;
            case KafkaApis.AddPartitionsToTxn when v >= 4:
                Assert.True(r.Skip(4) && r.TryInt16(out var txnError) && txnError == 0);
                Assert.True(r.TryArrayLength(f, out var txns) && txns == 1 && r.TrySkipString(f));
                TopicsArray(ref r, key, v, f, arena, seen);
                Assert.True(r.TrySkipTags(f));
                break;
            default: // TxnOffsetCommit, DeleteRecords, AddPartitionsToTxn v0-3: throttle first
                Assert.True(r.Skip(4));
                TopicsArray(ref r, key, v, f, arena, seen);
                break;
        }

        Assert.True(r.TrySkipTags(f));
        Assert.True(r.End, $"{r.Remaining} bytes left after the schema's last field");
        Assert.Equal([("orders", 0, (short)29), ("orders", 1, (short)29), ("payments", 7, (short)29)], seen);
    }

    private static void TopicsArray(ref KafkaReader r, short key, short v, bool f, KafkaByteArena arena, List<(string, int, short)> seen)
    {
        Assert.True(r.TryArrayLength(f, out var topics));
        for (var t = 0; t < topics; t++)
        {
            ByteRange name = default;
            var parts = 0;
            Assert.True(r.TryString(f, arena, out name) && r.TryArrayLength(f, out parts));
            for (var p = 0; p < parts; p++)
            {
                Assert.True(Partition(ref r, key, v, f, out var partition, out var error), $"partition {p} of topic {t}");
                seen.Add((Encoding.UTF8.GetString(arena[name]), partition, error));
                Assert.True(r.TrySkipTags(f));
            }

            Assert.True(r.TrySkipTags(f));
        }
    }

    /// <summary>One partition element of each response schema, from the partition index to its last field.</summary>
    private static bool Partition(ref KafkaReader r, short key, short v, bool f, out int partition, out short error)
    {
        partition = 0;
        error = 0;
        switch (key)
        {
            case KafkaApis.Produce:
                return r.TryInt32(out partition) && r.TryInt16(out error) && r.Skip(8 + (v >= 2 ? 8 : 0) + (v >= 5 ? 8 : 0))
                    && (v < 8 || (r.TryArrayLength(f, out var recordErrors) && recordErrors == 0 && r.TryStringLength(f, out var message) && message == -1));
            case KafkaApis.Fetch:
                return r.TryInt32(out partition) && r.TryInt16(out error) && r.Skip(8 + (v >= 4 ? 8 : 0) + (v >= 5 ? 8 : 0))
                    && (v < 4 || (r.TryArrayLength(f, out var aborted) && aborted <= 0)) && (v < 11 || r.Skip(4))
                    && r.TryBytesLength(f, out var records) && records == 0;
            case KafkaApis.ListOffsets:
                return r.TryInt32(out partition) && r.TryInt16(out error)
                    && (v == 0 ? r.TryArrayLength(f, out var old) && old == 0 : r.Skip(16)) && (v < 4 || r.Skip(4));
            case KafkaApis.OffsetFetch:
                return r.TryInt32(out partition) && r.Skip(8 + (v >= 5 ? 4 : 0)) && r.TrySkipString(f) && r.TryInt16(out error);
            case KafkaApis.DeleteRecords:
                return r.TryInt32(out partition) && r.Skip(8) && r.TryInt16(out error);
            case KafkaApis.OffsetForLeaderEpoch:
                return r.TryInt16(out error) && r.TryInt32(out partition) && r.Skip((v >= 1 ? 4 : 0) + 8);
            default: // OffsetCommit, TxnOffsetCommit, AddPartitionsToTxn: index, error
                return r.TryInt32(out partition) && r.TryInt16(out error);
        }
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
