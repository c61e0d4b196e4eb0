using System.Buffers;
using System.Text;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// The per-partition response schemas of the topic-bearing APIs (Apache Kafka <c>*Response.json</c>), written out
/// independently of the proxy: a decoder that reads every field to the frame's end, and an encoder of broker-like
/// answers (with a tagged field in the flexible response header, as a broker may send) for scripted brokers.
/// </summary>
internal static class KafkaResponseSchemas
{
    /// <summary>Every (topic, partition, error) of a response payload (without size prefix), in wire order; asserts the
    /// frame ends where the schema ends.</summary>
    public static List<(string Topic, int Partition, short Error)> Decode(byte[] payload, short key, short v)
    {
        KafkaApis.TryGet(key, out var api);
        var f = api.IsFlexible(v);
        var r = new KafkaReader(new ReadOnlySequence<byte>(payload));
        var arena = new KafkaByteArena();
        var seen = new List<(string, int, short)>();

        Assert.True(r.TryInt32(out _) && r.TrySkipTags(f));
        switch (key)
        {
            case KafkaApis.Produce:
                TopicsArray(ref r, key, v, f, arena, seen);
                Assert.True(v < 1 || r.Skip(4));
                break;
            case KafkaApis.Fetch:
                Assert.True(v < 1 || r.Skip(4));
                Assert.True(v < 7 || (r.TryInt16(out var top) && top == 0 && r.Skip(4)));
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
        return seen;
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
                    && r.TryBytesLength(f, out var records) && (records <= 0 || r.Skip(records)) && (error == 0 || records == 0);
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

    /// <summary>
    /// A broker's answer (whole frame) to a request naming <paramref name="topics"/>: every partition with error 0 and
    /// data (a 5-byte record set for Fetch, offset 1000 + partition elsewhere).
    /// </summary>
    public static byte[] Encode(short key, short v, TopicSpec[] topics, int correlationId)
    {
        KafkaApis.TryGet(key, out var api);
        var f = api.IsFlexible(v);
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int32(correlationId);
        if (f)
        {
            // One unknown tagged field in the response header (KIP-482 lets a broker add them): tag 7, two bytes.
            w.UVarint(1);
            w.UVarint(7);
            w.UVarint(2);
            w.Int16(0x5a5a);
        }

        switch (key)
        {
            case KafkaApis.Produce:
                Topics(w, key, v, f, topics);
                if (v >= 1)
                {
                    w.Int32(0);
                }

                break;
            case KafkaApis.Fetch:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                if (v >= 7)
                {
                    w.Int16(0);
                    w.Int32(0);
                }

                Topics(w, key, v, f, topics);
                break;
            case KafkaApis.ListOffsets:
            case KafkaApis.OffsetForLeaderEpoch:
                if (v >= 2)
                {
                    w.Int32(0);
                }

                Topics(w, key, v, f, topics);
                break;
            case KafkaApis.OffsetCommit:
                if (v >= 3)
                {
                    w.Int32(0);
                }

                Topics(w, key, v, f, topics);
                break;
            case KafkaApis.OffsetFetch when v <= 7:
                if (v >= 3)
                {
                    w.Int32(0);
                }

                Topics(w, key, v, f, topics);
                if (v >= 2)
                {
                    w.Int16(0);
                }

                break;
            case KafkaApis.OffsetFetch:
                w.Int32(0);
                w.ArrayLength(f, 1);
                w.String(f, "group-a"u8);
                Topics(w, key, v, f, topics);
                w.Int16(0);
                w.Tags(f);
                break;
            default: // DeleteRecords, TxnOffsetCommit
                w.Int32(0);
                Topics(w, key, v, f, topics);
                break;
        }

        w.Tags(f);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    private static void Topics(KafkaWriter w, short key, short v, bool f, TopicSpec[] topics)
    {
        w.ArrayLength(f, topics.Length);
        foreach (var t in topics)
        {
            w.String(f, Encoding.UTF8.GetBytes(t.Name));
            w.ArrayLength(f, t.Partitions.Length);
            foreach (var p in t.Partitions)
            {
                EncodePartition(w, key, v, f, p);
                w.Tags(f);
            }

            w.Tags(f);
        }
    }

    private static void EncodePartition(KafkaWriter w, short key, short v, bool f, int p)
    {
        long offset = 1000 + p;
        switch (key)
        {
            case KafkaApis.Produce:
                w.Int32(p);
                w.Int16(0);
                w.Int64(offset);
                if (v >= 2)
                {
                    w.Int64(-1);
                }

                if (v >= 5)
                {
                    w.Int64(0);
                }

                if (v >= 8)
                {
                    w.ArrayLength(f, 0);
                    w.NullString(f);
                }

                break;
            case KafkaApis.Fetch:
                w.Int32(p);
                w.Int16(0);
                w.Int64(offset);
                if (v >= 4)
                {
                    w.Int64(offset);
                }

                if (v >= 5)
                {
                    w.Int64(0);
                }

                if (v >= 4)
                {
                    w.ArrayLength(f, -1);
                }

                if (v >= 11)
                {
                    w.Int32(-1);
                }

                w.Bytes(f, [1, 2, 3, 4, 5]);
                break;
            case KafkaApis.ListOffsets:
                w.Int32(p);
                w.Int16(0);
                if (v == 0)
                {
                    w.ArrayLength(f, 0);
                }
                else
                {
                    w.Int64(-1);
                    w.Int64(offset);
                }

                if (v >= 4)
                {
                    w.Int32(0);
                }

                break;
            case KafkaApis.OffsetFetch:
                w.Int32(p);
                w.Int64(offset);
                if (v >= 5)
                {
                    w.Int32(0);
                }

                w.String(f, default);
                w.Int16(0);
                break;
            case KafkaApis.DeleteRecords:
                w.Int32(p);
                w.Int64(offset);
                w.Int16(0);
                break;
            case KafkaApis.OffsetForLeaderEpoch:
                w.Int16(0);
                w.Int32(p);
                if (v >= 1)
                {
                    w.Int32(0);
                }

                w.Int64(offset);
                break;
            default:
                w.Int32(p);
                w.Int16(0);
                break;
        }
    }
}
