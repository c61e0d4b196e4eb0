using System.Buffers;
using System.Buffers.Binary;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// Requests naming allowed and denied topics, per API and version: the forwarded request is exactly what the
/// independent builder makes for the allowed topics alone, and the broker's answer with the denied topics' entries
/// spliced in decodes with the response schemas to every requested partition (denied ones 29, allowed ones the
/// broker's), however the answer is split into segments.
/// </summary>
public sealed class KafkaSplitTests
{
    private static readonly TopicSpec Orders = new("orders", 0, 1);
    private static readonly TopicSpec Secrets = new("secrets", 3);
    private static readonly TopicSpec Payments = new("payments", 7);
    private static readonly TopicSpec[] Requested = [Orders, Secrets, Payments];
    private static readonly bool[] Allowed = [true, false, true];

    public static TheoryData<short, short> SplitApis()
    {
        var data = new TheoryData<short, short>();
        foreach (var (key, v) in KafkaRequestBuilder.ParsedApiVersions())
        {
            if (key is KafkaApis.Produce or KafkaApis.Fetch or KafkaApis.ListOffsets or KafkaApis.OffsetCommit or KafkaApis.OffsetFetch
                or KafkaApis.DeleteRecords or KafkaApis.OffsetForLeaderEpoch or KafkaApis.TxnOffsetCommit)
            {
                data.Add(key, v);
            }
        }

        return data;
    }

    private static KafkaRequest Parse(byte[] frame)
    {
        var q = new KafkaRequest();
        Assert.Equal(KafkaParseStatus.Complete, KafkaRequestParser.Parse(new ReadOnlySequence<byte>(frame), q, 1 << 20, out var length, out _));
        Assert.Equal(frame.Length, length);
        return q;
    }

    [Theory]
    [MemberData(nameof(SplitApis))]
    public void ForwardedRequestIsTheBuildersRequestForTheAllowedTopicsAlone(short key, short v)
    {
        var frame = KafkaRequestBuilder.Build(key, v, Requested, correlationId: 777);
        var q = Parse(frame);
        Assert.True(KafkaSplit.CanSplit(q));
        var w = new KafkaWriter();
        KafkaSplit.WriteRequest(new ReadOnlySequence<byte>(frame, 4, frame.Length - 4), q, Allowed, w);

        Assert.Equal(KafkaRequestBuilder.Build(key, v, [Orders, Payments], correlationId: 777), w.WrittenSpan.ToArray());
        var forwarded = Parse(w.WrittenSpan.ToArray());
        Assert.Equal(777, forwarded.CorrelationId);
        Assert.Equal(["orders", "payments"], Enumerable.Range(0, forwarded.EvaluatedTopicCount).Select(i => System.Text.Encoding.UTF8.GetString(forwarded.NameOf(forwarded.TopicAt(i)))));
    }

    [Fact]
    public void FetchForgottenTopicsAndRackIdSurviveTheSplit()
    {
        // Fetch v12 (flexible) with forgotten topics and a rack id after the topic array.
        var frame = FetchV12([Orders, Secrets], forgotten: [new TopicSpec("old", 2)]);
        var q = Parse(frame);
        var w = new KafkaWriter();
        KafkaSplit.WriteRequest(new ReadOnlySequence<byte>(frame, 4, frame.Length - 4), q, [true, false], w);
        Assert.Equal(FetchV12([Orders], forgotten: [new TopicSpec("old", 2)]), w.WrittenSpan.ToArray());
    }

    private static byte[] FetchV12(TopicSpec[] topics, TopicSpec[] forgotten)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(KafkaApis.Fetch);
        w.Int16(12);
        w.Int32(5);
        w.String(false, "c"u8);
        w.Tags(true);
        w.Int32(-1);
        w.Int32(500);
        w.Int32(1);
        w.Int32(1 << 20);
        w.Int8(0);
        w.Int32(99);
        w.Int32(3);
        w.ArrayLength(true, topics.Length);
        foreach (var t in topics)
        {
            w.String(true, System.Text.Encoding.UTF8.GetBytes(t.Name));
            w.ArrayLength(true, t.Partitions.Length);
            foreach (var p in t.Partitions)
            {
                w.Int32(p);
                w.Int32(-1);
                w.Int64(10);
                w.Int32(-1);
                w.Int64(-1);
                w.Int32(1 << 20);
                w.Tags(true);
            }

            w.Tags(true);
        }

        w.ArrayLength(true, forgotten.Length);
        foreach (var t in forgotten)
        {
            w.String(true, System.Text.Encoding.UTF8.GetBytes(t.Name));
            w.ArrayLength(true, t.Partitions.Length);
            foreach (var p in t.Partitions)
            {
                w.Int32(p);
            }

            w.Tags(true);
        }

        w.String(true, "rack-1"u8);
        w.Tags(true);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    /// <summary>What the client receives: the spliced prefix followed by the broker's bytes after the prefix.</summary>
    private static (KafkaParseStatus Status, byte[]? Frame) Splice(KafkaRequest q, byte[] deniedEntries, int deniedCount, in ReadOnlySequence<byte> broker)
    {
        var status = KafkaSplit.TryReadResponsePrefix(broker, q.ApiKey, q.ApiVersion, out var countOffset, out var prefixLength, out var count);
        if (status != KafkaParseStatus.Complete)
        {
            return (status, null);
        }

        var w = new KafkaWriter();
        KafkaSplit.WriteResponsePrefix(broker, KafkaSplit.IsFlexible(q.ApiKey, q.ApiVersion), countOffset, prefixLength, count, deniedCount, deniedEntries, w);
        var size = BinaryPrimitives.ReadInt32BigEndian(broker.Slice(0, 4).ToArray());
        return (status, [.. w.WrittenSpan, .. broker.Slice(prefixLength, size + 4 - prefixLength).ToArray()]);
    }

    [Theory]
    [MemberData(nameof(SplitApis))]
    public void ClientReceivesEveryRequestedPartitionDeniedOnesWithTwentyNine(short key, short v)
    {
        var q = Parse(KafkaRequestBuilder.Build(key, v, Requested, correlationId: 777));
        var denied = new KafkaWriter();
        var deniedCount = KafkaDenials.WriteDeniedTopics(q, Allowed, denied);
        Assert.Equal(1, deniedCount);
        var broker = KafkaResponseSchemas.Encode(key, v, [Orders, Payments], 777);

        // Whole, and with trailing bytes of the next response behind it.
        var (status, frame) = Splice(q, denied.WrittenSpan.ToArray(), deniedCount, new ReadOnlySequence<byte>([.. broker, 0, 0, 0, 9, 1, 2]));
        Assert.Equal(KafkaParseStatus.Complete, status);
        Assert.Equal(frame!.Length - 4, BinaryPrimitives.ReadInt32BigEndian(frame));
        Assert.Equal(777, BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4)));
        var seen = KafkaResponseSchemas.Decode(frame[4..], key, v);
        Assert.Equal([("secrets", 3, (short)29), ("orders", 0, (short)0), ("orders", 1, (short)0), ("payments", 7, (short)0)], seen);

        // Every prefix: NeedMoreData until the prefix is there, then the same answer.
        var complete = 0;
        for (var n = 0; n <= broker.Length; n++)
        {
            var s = KafkaSplit.TryReadResponsePrefix(new ReadOnlySequence<byte>(broker, 0, n), key, v, out _, out var prefixLength, out _);
            Assert.NotEqual(KafkaParseStatus.Rejected, s);
            if (s == KafkaParseStatus.Complete)
            {
                complete++;
                Assert.True(n >= prefixLength);
            }
        }

        Assert.True(complete > 0);

        // Every 2- and 3-segment split, and byte by byte.
        for (var i = 1; i < broker.Length; i++)
        {
            Assert.Equal(frame, Splice(q, denied.WrittenSpan.ToArray(), deniedCount, SegmentedSequence.Create(broker, i)).Frame);
            for (var j = i + 1; j < broker.Length; j += 3)
            {
                Assert.Equal(frame, Splice(q, denied.WrittenSpan.ToArray(), deniedCount, SegmentedSequence.Create(broker, i, j)).Frame);
            }
        }

        Assert.Equal(frame, Splice(q, denied.WrittenSpan.ToArray(), deniedCount, SegmentedSequence.ByteByByte(broker)).Frame);
    }

    [Theory]
    [MemberData(nameof(SplitApis))]
    public void TruncatedOrHostileBrokerAnswersAreRejectedNotMisread(short key, short v)
    {
        var broker = KafkaResponseSchemas.Encode(key, v, [Orders, Payments], 777);
        var q = Parse(KafkaRequestBuilder.Build(key, v, Requested, correlationId: 777));
        Assert.Equal(KafkaParseStatus.Complete, KafkaSplit.TryReadResponsePrefix(new ReadOnlySequence<byte>(broker), key, v, out var countOffset, out _, out _));

        // A frame that ends before its topic array's length is a malformed answer.
        var truncated = broker[..countOffset];
        BinaryPrimitives.WriteInt32BigEndian(truncated, countOffset - 4);
        Assert.Equal(KafkaParseStatus.Rejected, KafkaSplit.TryReadResponsePrefix(new ReadOnlySequence<byte>(truncated), key, v, out _, out _, out _));

        // A size prefix below a correlation id.
        Assert.Equal(KafkaParseStatus.Rejected, KafkaSplit.TryReadResponsePrefix(new ReadOnlySequence<byte>([0, 0, 0, 2, 0, 0]), key, v, out _, out _, out _));

        // Random mutations never throw.
        var random = new Random(key * 100 + v);
        for (var i = 0; i < 200; i++)
        {
            var mutated = (byte[])broker.Clone();
            mutated[4 + random.Next(mutated.Length - 4)] = (byte)random.Next(256);
            KafkaSplit.TryReadResponsePrefix(new ReadOnlySequence<byte>(mutated), key, v, out _, out _, out _);
        }

        Assert.NotNull(q);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void AddPartitionsToTxnWithADeniedTopicFailsWholeAsABrokerDoes(short v)
    {
        var q = Parse(KafkaRequestBuilder.Build(KafkaApis.AddPartitionsToTxn, v, Requested, correlationId: 9));
        var w = new KafkaWriter();
        Assert.True(KafkaDenials.TryWrite(q, w, Allowed));
        var seen = KafkaResponseSchemas.Decode(w.WrittenSpan[4..].ToArray(), KafkaApis.AddPartitionsToTxn, v);
        Assert.Equal([("orders", 0, (short)55), ("orders", 1, (short)55), ("secrets", 3, (short)29), ("payments", 7, (short)55)], seen);
    }

    [Fact]
    public void OffsetFetchForSeveralGroupsOrAllTopicsIsNotSplit()
    {
        var twoGroups = Parse(KafkaRequestBuilder.Build(KafkaApis.OffsetFetch, 8, Requested, groups: ["group-a", "group-b"]));
        Assert.False(KafkaSplit.CanSplit(twoGroups));
        Assert.True(KafkaSplit.CanSplit(Parse(KafkaRequestBuilder.Build(KafkaApis.OffsetFetch, 8, Requested))));
        Assert.False(KafkaSplit.CanSplit(Parse(KafkaRequestBuilder.Build(KafkaApis.Metadata, 12, Requested))));
    }

    [Theory]
    [InlineData(KafkaApis.ListOffsets, 7)]
    [InlineData(KafkaApis.Fetch, 12)]
    [InlineData(KafkaApis.OffsetFetch, 8)]
    public async Task ABrokerAnswerArrivingByteByByteIsSplicedWhole(short key, short v)
    {
        await using var h = await ScriptedKafkaHarness.StartAsync(
            q => KafkaResponseSchemas.Encode(q.ApiKey, q.ApiVersion, [Orders], q.CorrelationId), KafkaTestSupport.ProduceConsume("orders"), dribble: true);
        var answer = await h.RoundTripAsync(KafkaRequestBuilder.Build(key, v, [Secrets, Orders], correlationId: 31));
        Assert.Equal([("secrets", 3, (short)29), ("orders", 0, (short)0), ("orders", 1, (short)0)], KafkaResponseSchemas.Decode(answer[4..], key, v));
        Assert.Equal(KafkaRequestBuilder.Build(key, v, [Orders], correlationId: 31), Assert.Single(h.Received));
        Assert.DoesNotContain(h.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }
}
