using System.Buffers;
using System.Buffers.Binary;

namespace Membrane.Proxy.Kafka;

/// <summary>
/// Requests naming allowed and denied topics, answered the way a broker with ACLs answers them (Apache Kafka
/// <c>KafkaApis.handleProduceRequest</c>, <c>handleFetchRequest</c>, <c>handleListOffsetRequest</c>,
/// <c>handleOffsetCommitRequest</c>, <c>handleOffsetFetchRequest</c>, …): the broker processes the authorized topics and
/// answers each unauthorized topic's partitions with TOPIC_AUTHORIZATION_FAILED in the same response.
/// The proxy forwards a copy of the request holding only the allowed topics (<see cref="WriteRequest"/>), and when the
/// broker answers, splices the denied topics' error-29 entries in front of the broker's topic array
/// (<see cref="TryReadResponsePrefix"/>, <see cref="WriteResponsePrefix"/>); the rest of the answer is relayed as it
/// arrives, so a large Fetch answer is never buffered.
/// </summary>
internal static class KafkaSplit
{
    /// <summary>A response whose fields up to its topic array do not fit here is not a broker's (real headers are a
    /// few bytes; tagged fields in them are small).</summary>
    public const int MaxResponsePrefix = 16 * 1024;

    /// <summary>
    /// True when the request's topics sit in one top-level array whose response counterpart is one top-level array
    /// reachable through fixed fields: Produce, Fetch, ListOffsets, OffsetCommit, OffsetFetch (v8+ with one group),
    /// OffsetForLeaderEpoch, DeleteRecords, TxnOffsetCommit.
    /// </summary>
    public static bool CanSplit(KafkaRequest q) => q.ApiKey switch
    {
        KafkaApis.Produce or KafkaApis.Fetch or KafkaApis.ListOffsets or KafkaApis.OffsetCommit or KafkaApis.OffsetForLeaderEpoch
            or KafkaApis.DeleteRecords or KafkaApis.TxnOffsetCommit => true,
        KafkaApis.OffsetFetch => !q.AllTopics && (q.ApiVersion <= 7 || q.GroupCount == 1),
        _ => false,
    };

    /// <summary>
    /// Writes the frame to forward: <paramref name="payload"/> with only the evaluated topics <paramref name="allowed"/>
    /// marks in its topic array (same header, correlation id, fields and tagged fields; new array length and frame size).
    /// </summary>
    public static void WriteRequest(in ReadOnlySequence<byte> payload, KafkaRequest q, ReadOnlySpan<bool> allowed, KafkaWriter w)
    {
        var kept = 0;
        foreach (var a in allowed)
        {
            kept += a ? 1 : 0;
        }

        w.BeginFrame();
        w.Raw(payload.Slice(0, q.TopicArrayStart));
        w.ArrayLength(q.Flexible, kept);
        for (var i = 0; i < allowed.Length; i++)
        {
            if (allowed[i])
            {
                var t = q.TopicAt(i);
                w.Raw(payload.Slice(t.ElementStart, t.ElementEnd - t.ElementStart));
            }
        }

        w.Raw(payload.Slice(q.TopicArrayEnd));
        w.EndFrame();
    }

    /// <summary>
    /// Reads a response frame (from its size prefix) up to and including its top-level topic array's length.
    /// <paramref name="countOffset"/> is where the length starts, <paramref name="prefixLength"/> where the first topic
    /// element starts. NeedMoreData until those bytes are buffered; Rejected when the frame is not a response of this
    /// shape (a null topic array, fields past the frame end, a prefix above <see cref="MaxResponsePrefix"/>).
    /// </summary>
    public static KafkaParseStatus TryReadResponsePrefix(in ReadOnlySequence<byte> buffer, short apiKey, short v, out int countOffset, out int prefixLength, out int count)
    {
        countOffset = prefixLength = count = 0;
        if (buffer.Length < 4)
        {
            return KafkaParseStatus.NeedMoreData;
        }

        Span<byte> sizeBytes = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(sizeBytes);
        var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
        if (size < 4)
        {
            return KafkaParseStatus.Rejected;
        }

        var available = Math.Min(buffer.Length, size + 4L);
        var frameComplete = available == size + 4L;
        var r = new KafkaReader(buffer.Slice(0, Math.Min(available, MaxResponsePrefix)));
        var f = KafkaApis.TryGet(apiKey, out var api) && api.IsFlexible(v);
        var ok = r.Skip(8) && r.TrySkipTags(f) && SkipFieldsBeforeTopics(ref r, apiKey, v, f);
        if (ok)
        {
            countOffset = (int)r.Consumed;
            ok = r.TryArrayLength(f, out count);
            if (ok && count < 0)
            {
                return KafkaParseStatus.Rejected;
            }
        }

        if (!ok)
        {
            return frameComplete || available >= MaxResponsePrefix ? KafkaParseStatus.Rejected : KafkaParseStatus.NeedMoreData;
        }

        prefixLength = (int)r.Consumed;
        return KafkaParseStatus.Complete;
    }

    /// <summary>
    /// Writes the new beginning of a response whose prefix <see cref="TryReadResponsePrefix"/> read: frame size grown by
    /// the denied entries, the broker's header and fields, the array length grown by <paramref name="deniedCount"/>,
    /// then <paramref name="deniedEntries"/>. The caller relays the rest of the broker's frame after it.
    /// </summary>
    public static void WriteResponsePrefix(in ReadOnlySequence<byte> buffer, bool flexible, int countOffset, int prefixLength, int count, int deniedCount, ReadOnlySpan<byte> deniedEntries, KafkaWriter w)
    {
        w.BeginFrame();
        w.Raw(buffer.Slice(4, countOffset - 4));
        w.ArrayLength(flexible, count + deniedCount);
        w.Raw(deniedEntries);
        w.EndFrame(FrameSize(buffer) + 4 - prefixLength);
    }

    /// <summary>True when a response's header is flexible (response header v1).</summary>
    public static bool IsFlexible(short apiKey, short v) => KafkaApis.TryGet(apiKey, out var api) && api.IsFlexible(v);

    private static int FrameSize(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        return BinaryPrimitives.ReadInt32BigEndian(prefix);
    }

    /// <summary>The response fields between the header and the topic array (Apache Kafka <c>*Response.json</c>).</summary>
    private static bool SkipFieldsBeforeTopics(ref KafkaReader r, short apiKey, short v, bool f) => apiKey switch
    {
        KafkaApis.Produce => true,
        KafkaApis.Fetch => r.Skip((v >= 1 ? 4 : 0) + (v >= 7 ? 6 : 0)),
        KafkaApis.ListOffsets => r.Skip(v >= 2 ? 4 : 0),
        KafkaApis.OffsetCommit => r.Skip(v >= 3 ? 4 : 0),
        KafkaApis.OffsetFetch when v <= 7 => r.Skip(v >= 3 ? 4 : 0),
        KafkaApis.OffsetFetch => r.Skip(4) && r.TryArrayLength(f, out var groups) && groups == 1 && r.TrySkipString(f),
        KafkaApis.OffsetForLeaderEpoch => r.Skip(v >= 2 ? 4 : 0),
        KafkaApis.DeleteRecords or KafkaApis.TxnOffsetCommit => r.Skip(4),
        _ => false,
    };
}
