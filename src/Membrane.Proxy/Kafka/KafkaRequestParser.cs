using System.Buffers;
using System.Buffers.Binary;

namespace Membrane.Proxy.Kafka;

/// <summary>
/// Pure parser of Kafka request frames: size prefix, request header (v1/v2, client id always INT16-length), and for
/// topic-bearing APIs the body, field by field per version (Apache Kafka <c>*Request.json</c>; protocol-facts §1.5).
/// No I/O, no exceptions for malformed input, and no allocation once the connection's <see cref="KafkaRequest"/> is warm.
/// </summary>
internal static class KafkaRequestParser
{
    /// <summary>Brokers' default <c>socket.request.max.bytes</c>.</summary>
    public const int DefaultMaxFrameSize = 104_857_600;

    /// <summary>api_key + api_version + correlation_id + client_id length.</summary>
    private const int MinHeaderSize = 10;

    /// <summary>
    /// Parses the first frame of <paramref name="buffer"/>. On <see cref="KafkaParseStatus.Complete"/>,
    /// <paramref name="frameLength"/> is the bytes the frame takes including its size prefix. On
    /// <see cref="KafkaParseStatus.Rejected"/> the header fields of <paramref name="request"/> are filled when the header
    /// itself could be read (so an ApiVersions request of an unknown version can still be answered).
    /// </summary>
    public static KafkaParseStatus Parse(in ReadOnlySequence<byte> buffer, KafkaRequest request, int maxFrameSize, out int frameLength, out KafkaRejectReason reason)
    {
        var status = TryFrame(buffer, maxFrameSize, out var payload, out frameLength, out reason);
        if (status != KafkaParseStatus.Complete)
        {
            return status;
        }

        reason = ParsePayload(payload, request);
        return reason == KafkaRejectReason.None ? KafkaParseStatus.Complete : KafkaParseStatus.Rejected;
    }

    /// <summary>Finds the first frame: NeedMoreData until the size prefix and the whole payload are buffered.</summary>
    public static KafkaParseStatus TryFrame(in ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> payload, out int frameLength, out KafkaRejectReason reason)
    {
        payload = default;
        frameLength = 0;
        reason = KafkaRejectReason.None;
        if (buffer.Length < 4)
        {
            return KafkaParseStatus.NeedMoreData;
        }

        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        var size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (size < 0)
        {
            reason = KafkaRejectReason.FrameTooSmall;
            return KafkaParseStatus.Rejected;
        }

        if (size > maxFrameSize)
        {
            reason = KafkaRejectReason.FrameTooLarge;
            return KafkaParseStatus.Rejected;
        }

        if (buffer.Length - 4 < size)
        {
            return KafkaParseStatus.NeedMoreData;
        }

        payload = buffer.Slice(4, size);
        frameLength = size + 4;
        return KafkaParseStatus.Complete;
    }

    /// <summary>Parses one request payload (header + body, without the size prefix).</summary>
    public static KafkaRejectReason ParsePayload(in ReadOnlySequence<byte> payload, KafkaRequest request)
    {
        request.Clear();
        request.PayloadLength = (int)payload.Length;
        if (payload.Length < MinHeaderSize)
        {
            return KafkaRejectReason.FrameTooSmall;
        }

        var r = new KafkaReader(payload);
        r.TryInt16(out request.ApiKey);
        r.TryInt16(out request.ApiVersion);
        r.TryInt32(out request.CorrelationId);
        if (!r.TryNullableString(false, request.Bytes, out request.ClientId, out request.ClientIdIsNull))
        {
            return KafkaRejectReason.Malformed;
        }

        if (!KafkaApis.TryGet(request.ApiKey, out var api))
        {
            return KafkaRejectReason.UnknownApiKey;
        }

        var v = request.ApiVersion;
        if (v < api.MinVersion || v > api.MaxVersion)
        {
            return KafkaRejectReason.UnsupportedVersion;
        }

        var f = request.Flexible = api.IsFlexible(v);
        if (!r.TrySkipTags(f))
        {
            return KafkaRejectReason.Malformed;
        }

        request.BodyStart = (int)r.Consumed;
        if (!api.ParsesBody)
        {
            return KafkaRejectReason.None;
        }

        var ok = request.ApiKey switch
        {
            KafkaApis.Produce => Produce(ref r, v, f, request),
            KafkaApis.Fetch => Fetch(ref r, v, f, request),
            KafkaApis.ListOffsets => ListOffsets(ref r, v, f, request),
            KafkaApis.Metadata => Metadata(ref r, v, f, request),
            KafkaApis.OffsetCommit => OffsetCommit(ref r, v, f, request),
            KafkaApis.OffsetFetch => OffsetFetch(ref r, v, f, request),
            KafkaApis.FindCoordinator => FindCoordinator(ref r, v, f, request),
            KafkaApis.JoinGroup => JoinGroup(ref r, v, f, request),
            KafkaApis.ApiVersions => v < 3 || (r.TrySkipString(true) && r.TrySkipString(true) && r.TrySkipTags()),
            KafkaApis.CreateTopics => CreateTopics(ref r, v, f, request),
            KafkaApis.DeleteTopics => DeleteTopics(ref r, f, request),
            KafkaApis.DeleteRecords => DeleteRecords(ref r, f, request),
            KafkaApis.InitProducerId => InitProducerId(ref r, v, f, request),
            KafkaApis.OffsetForLeaderEpoch => OffsetForLeaderEpoch(ref r, v, f, request),
            KafkaApis.AddPartitionsToTxn => AddPartitionsToTxn(ref r, v, f, request),
            KafkaApis.TxnOffsetCommit => TxnOffsetCommit(ref r, v, f, request),
            KafkaApis.DescribeConfigs => DescribeConfigs(ref r, v, f, request),
            KafkaApis.AlterConfigs => AlterConfigs(ref r, f, request, incremental: false),
            KafkaApis.IncrementalAlterConfigs => AlterConfigs(ref r, f, request, incremental: true),
            KafkaApis.DescribeLogDirs => DescribeLogDirs(ref r, f, request),
            KafkaApis.CreatePartitions => CreatePartitions(ref r, f, request),
            KafkaApis.ElectLeaders => ElectLeaders(ref r, v, f, request),
            KafkaApis.OffsetDelete => OffsetDelete(ref r, request),
            KafkaApis.DescribeProducers => TopicsWithPartitionIndexes(ref r, true, request) && r.TrySkipTags(),
            KafkaApis.ConsumerGroupHeartbeat => ConsumerGroupHeartbeat(ref r, v, request),
            KafkaApis.DescribeTopicPartitions => DescribeTopicPartitions(ref r, request),
            _ => false,
        };
        if (!ok)
        {
            return KafkaRejectReason.Malformed;
        }

        return r.End ? KafkaRejectReason.None : KafkaRejectReason.TrailingBytes;
    }

    private static bool Topic(ref KafkaReader r, bool f, KafkaRequest q, out int index, int group = -1)
    {
        index = q.TopicCount;
        var start = (int)r.Consumed;
        if (!r.TryString(f, q.Bytes, out var name))
        {
            return false;
        }

        q.AddTopic(name, group).ElementStart = start;
        return true;
    }

    /// <summary>Reads a top-level topic array's length, remembering where it starts (request splitting).</summary>
    private static bool TopicArrayLength(ref KafkaReader r, bool f, KafkaRequest q, out int topics)
    {
        q.TopicArrayStart = (int)r.Consumed;
        return r.TryArrayLength(f, out topics);
    }

    /// <summary>Marks the end of topic <paramref name="t"/>'s array element (and so far of the topic array).</summary>
    private static void EndTopic(ref KafkaReader r, KafkaRequest q, int t) => q.TopicArrayEnd = q.TopicAt(t).ElementEnd = (int)r.Consumed;

    /// <summary>What follows a partition's index and fixed-size fields in a <see cref="TopicPartitions"/> array.</summary>
    private enum PartitionTail : byte
    {
        None,
        String,
        Bytes,
    }

    /// <summary>
    /// <paramref name="topics"/> entries of <c>{ Name, Partitions[] { Index int32, fixedBytes, tail, tags }, tags }</c>,
    /// the shape most topic-bearing requests share; records each topic's partition indexes and byte range.
    /// </summary>
    private static bool TopicPartitions(ref KafkaReader r, bool f, KafkaRequest q, int topics, int fixedBytes, PartitionTail tail)
    {
        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out var t) || !r.TryArrayLength(f, out var parts) || parts < 0)
            {
                return false;
            }

            var start = q.Ints.Count;
            for (var p = 0; p < parts; p++)
            {
                if (!r.TryInt32(out var index) || !r.Skip(fixedBytes) || !SkipTail(ref r, f, tail) || !r.TrySkipTags(f))
                {
                    return false;
                }

                q.Ints.Add(index);
            }

            q.TopicAt(t).Partitions = new ByteRange(start, parts);
            if (!r.TrySkipTags(f))
            {
                return false;
            }

            EndTopic(ref r, q, t);
        }

        return true;
    }

    private static bool SkipTail(ref KafkaReader r, bool f, PartitionTail tail) => tail switch
    {
        PartitionTail.String => r.TrySkipString(f),
        PartitionTail.Bytes => r.TrySkipBytes(f),
        _ => true,
    };

    private static bool Produce(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (v >= 3)
        {
            if (!r.TryStringLength(f, out var n) || (n >= 0 && !r.Skip(n)))
            {
                return false;
            }

            q.HasTransactionalId = n >= 0;
        }

        if (!r.TryInt16(out q.Acks) || !r.Skip(4) || !TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        return TopicPartitions(ref r, f, q, topics, 0, PartitionTail.Bytes) && r.TrySkipTags(f);
    }

    private static bool Fetch(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        // ReplicaId@0-14, MaxWaitMs, MinBytes, MaxBytes@3+, IsolationLevel@4+, SessionId/SessionEpoch@7+.
        var skip = (v <= 14 ? 4 : 0) + 8 + (v >= 3 ? 4 : 0) + (v >= 4 ? 1 : 0);
        if (!r.Skip(skip))
        {
            return false;
        }

        if (v >= 7 && (!r.TryInt32(out q.FetchSessionId) || !r.TryInt32(out q.FetchSessionEpoch)))
        {
            return false;
        }

        if (!TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        var partitionSize = 4 + (v >= 9 ? 4 : 0) + 8 + (v >= 12 ? 4 : 0) + (v >= 5 ? 8 : 0) + 4;
        if (!TopicPartitions(ref r, f, q, topics, partitionSize - 4, PartitionTail.None))
        {
            return false;
        }

        if (v >= 7)
        {
            // Forgotten topics leave the fetch session: reported, not evaluated (forgetting a denied topic is harmless).
            if (!r.TryArrayLength(f, out var forgotten) || forgotten < 0)
            {
                return false;
            }

            q.InformationalTopicStart = q.TopicCount;
            for (var i = 0; i < forgotten; i++)
            {
                if (!Topic(ref r, f, q, out var t) || !r.TryInt32Array(f, q.Ints, out var parts, out var isNull) || isNull || !r.TrySkipTags(f))
                {
                    return false;
                }

                q.TopicAt(t).Partitions = parts;
            }
        }

        return (v < 11 || r.TrySkipString(f)) && r.TrySkipTags(f);
    }

    private static bool ListOffsets(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.Skip(4 + (v >= 2 ? 1 : 0)) || !TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        var rest = (v >= 4 ? 4 : 0) + 8 + (v == 0 ? 4 : 0);
        return TopicPartitions(ref r, f, q, topics, rest, PartitionTail.None) && (v < 10 || r.Skip(4)) && r.TrySkipTags(f);
    }

    private static bool Metadata(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        q.TopicArrayStart = (int)r.Consumed;
        if (!r.TryArrayLength(f, out var topics) || (topics < 0 && v < 1))
        {
            return false;
        }

        q.AllTopics = topics < 0 || (v == 0 && topics == 0);
        for (var i = 0; i < topics; i++)
        {
            var start = (int)r.Consumed;
            var id = Guid.Empty;
            if (v >= 10 && !r.TryUuid(out id))
            {
                return false;
            }

            if (!r.TryNullableString(f, q.Bytes, out var name, out var isNull) || (isNull && v < 10) || !r.TrySkipTags(f))
            {
                return false;
            }

            ref var t = ref q.AddTopic(name);
            t.NameIsNull = isNull;
            t.TopicId = id;
            t.ElementStart = start;
            t.ElementEnd = (int)r.Consumed;
        }

        q.TopicArrayEnd = (int)r.Consumed;
        if (v >= 4)
        {
            if (!r.TryBool(out q.AllowAutoTopicCreation))
            {
                return false;
            }
        }

        var flags = (v >= 8 && v <= 10 ? 1 : 0) + (v >= 8 ? 1 : 0);
        return r.Skip(flags) && r.TrySkipTags(f);
    }

    private static bool OffsetCommit(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.TryString(f, q.Bytes, out var group))
        {
            return false;
        }

        q.AddGroup(group);
        if (v >= 1 && (!r.Skip(4) || !r.TrySkipString(f)))
        {
            return false;
        }

        if ((v >= 7 && !r.TrySkipString(f)) || (v >= 2 && v <= 4 && !r.Skip(8)) || !TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        var fixedPart = 8 + (v >= 6 ? 4 : 0) + (v == 1 ? 8 : 0);
        return TopicPartitions(ref r, f, q, topics, fixedPart, PartitionTail.String) && r.TrySkipTags(f);
    }

    private static bool OffsetFetchTopics(ref KafkaReader r, short v, bool f, KafkaRequest q, int group)
    {
        if (!TopicArrayLength(ref r, f, q, out var topics) || (topics < 0 && v < 2))
        {
            return false;
        }

        if (topics < 0)
        {
            q.AllTopics = true;
        }

        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out var t, group) || !r.TryInt32Array(f, q.Ints, out var parts, out var isNull) || isNull || !r.TrySkipTags(f))
            {
                return false;
            }

            q.TopicAt(t).Partitions = parts;
            EndTopic(ref r, q, t);
        }

        return true;
    }

    private static bool OffsetFetch(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (v <= 7)
        {
            if (!r.TryString(f, q.Bytes, out var group) || !OffsetFetchTopics(ref r, v, f, q, q.AddGroup(group)))
            {
                return false;
            }
        }
        else
        {
            if (!r.TryArrayLength(f, out var groups) || groups < 0)
            {
                return false;
            }

            for (var g = 0; g < groups; g++)
            {
                if (!r.TryString(f, q.Bytes, out var group) || (v >= 9 && (!r.TrySkipString(f) || !r.Skip(4))))
                {
                    return false;
                }

                if (!OffsetFetchTopics(ref r, v, f, q, q.AddGroup(group)) || !r.TrySkipTags(f))
                {
                    return false;
                }
            }
        }

        return (v < 7 || r.Skip(1)) && r.TrySkipTags(f);
    }

    private static bool FindCoordinator(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (v <= 3)
        {
            if (!r.TryString(f, q.Bytes, out var key))
            {
                return false;
            }

            q.AddGroup(key);
        }

        if (v >= 1 && !r.TryInt8(out q.CoordinatorKeyType))
        {
            return false;
        }

        if (v >= 4)
        {
            if (!r.TryArrayLength(f, out var keys) || keys < 0)
            {
                return false;
            }

            for (var i = 0; i < keys; i++)
            {
                if (!r.TryString(f, q.Bytes, out var key))
                {
                    return false;
                }

                q.AddGroup(key);
            }
        }

        return r.TrySkipTags(f);
    }

    private static bool JoinGroup(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.TryString(f, q.Bytes, out var group))
        {
            return false;
        }

        q.AddGroup(group);
        if (!r.Skip(4 + (v >= 1 ? 4 : 0)) || !r.TrySkipString(f) || (v >= 5 && !r.TrySkipString(f)))
        {
            return false;
        }

        if (!r.TryString(f, q.Bytes, out var protocolType) || !r.TryArrayLength(f, out var protocols) || protocols < 0)
        {
            return false;
        }

        var consumer = q.Bytes[protocolType].SequenceEqual("consumer"u8);
        q.InformationalTopicStart = q.TopicCount;
        for (var i = 0; i < protocols; i++)
        {
            if (!r.TrySkipString(f) || !r.TryBytesLength(f, out var length) || length < 0)
            {
                return false;
            }

            var metadata = r.Sequence.Slice(r.Position, length);
            if (consumer)
            {
                // The embedded ConsumerProtocolSubscription is opaque to the broker too: a malformed one is not a
                // reason to reject the request, only to report no topics from it.
                ConsumerSubscriptionTopics(metadata, q);
            }

            if (!r.Skip(length) || !r.TrySkipTags(f))
            {
                return false;
            }
        }

        return (v < 8 || r.TrySkipString(f)) && r.TrySkipTags(f);
    }

    /// <summary>ConsumerProtocolSubscription v0-3 (never flexible): Topics []STRING, UserData, OwnedPartitions@1+ …</summary>
    private static void ConsumerSubscriptionTopics(ReadOnlySequence<byte> metadata, KafkaRequest q)
    {
        var r = new KafkaReader(metadata);
        var mark = q.TopicCount;
        if (!r.TryInt16(out var version) || version < 0 || !r.TryArrayLength(false, out var topics) || topics < 0)
        {
            return;
        }

        for (var i = 0; i < topics; i++)
        {
            var bytesMark = q.Bytes.Count;
            if (!r.TryString(false, q.Bytes, out var name))
            {
                q.TopicCount = mark;
                return;
            }

            var duplicate = false;
            for (var j = q.InformationalTopicStart; j < q.TopicCount; j++)
            {
                if (q.NameOf(q.TopicAt(j)).SequenceEqual(q.Bytes[name]))
                {
                    duplicate = true;
                    break;
                }
            }

            if (!duplicate)
            {
                q.AddTopic(name);
            }
        }
    }

    private static bool CreateTopics(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.TryArrayLength(f, out var topics) || topics < 0)
        {
            return false;
        }

        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out _) || !r.Skip(6) || !r.TryArrayLength(f, out var assignments) || assignments < 0)
            {
                return false;
            }

            for (var a = 0; a < assignments; a++)
            {
                if (!r.Skip(4) || !r.TrySkipFixedArray(f, 4) || !r.TrySkipTags(f))
                {
                    return false;
                }
            }

            if (!r.TryArrayLength(f, out var configs) || configs < 0)
            {
                return false;
            }

            for (var c = 0; c < configs; c++)
            {
                if (!r.TrySkipString(f) || !r.TrySkipString(f) || !r.TrySkipTags(f))
                {
                    return false;
                }
            }

            if (!r.TrySkipTags(f))
            {
                return false;
            }
        }

        return r.Skip(4 + (v >= 1 ? 1 : 0)) && r.TrySkipTags(f);
    }

    private static bool DeleteTopics(ref KafkaReader r, bool f, KafkaRequest q)
    {
        if (!r.TryArrayLength(f, out var topics) || topics < 0)
        {
            return false;
        }

        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out _))
            {
                return false;
            }
        }

        return r.Skip(4) && r.TrySkipTags(f);
    }

    private static bool DeleteRecords(ref KafkaReader r, bool f, KafkaRequest q)
    {
        if (!TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        return TopicPartitions(ref r, f, q, topics, 8, PartitionTail.None) && r.Skip(4) && r.TrySkipTags(f);
    }

    private static bool InitProducerId(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.TryStringLength(f, out var n) || (n >= 0 && !r.Skip(n)))
        {
            return false;
        }

        q.HasTransactionalId = n >= 0;
        var rest = 4 + (v >= 3 ? 10 : 0) + (v >= 6 ? 2 : 0);
        return r.Skip(rest) && r.TrySkipTags(f);
    }

    private static bool OffsetForLeaderEpoch(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if ((v >= 3 && !r.Skip(4)) || !TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        var rest = (v >= 2 ? 4 : 0) + 4;
        return TopicPartitions(ref r, f, q, topics, rest, PartitionTail.None) && r.TrySkipTags(f);
    }

    /// <summary><c>Topics[] { Name, PartitionIndexes []int32 }</c>, shared by several APIs.</summary>
    private static bool TopicsWithPartitionIndexes(ref KafkaReader r, bool f, KafkaRequest q, int group = -1)
    {
        if (!TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out var t, group) || !r.TryInt32Array(f, q.Ints, out var parts, out var isNull) || isNull || !r.TrySkipTags(f))
            {
                return false;
            }

            q.TopicAt(t).Partitions = parts;
            EndTopic(ref r, q, t);
        }

        return true;
    }

    private static bool AddPartitionsToTxn(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (v <= 3)
        {
            if (!r.TryString(f, q.Bytes, out var txn) || !r.Skip(10))
            {
                return false;
            }

            return TopicsWithPartitionIndexes(ref r, f, q, q.AddGroup(txn)) && r.TrySkipTags(f);
        }

        if (!r.TryArrayLength(f, out var transactions) || transactions < 0)
        {
            return false;
        }

        for (var i = 0; i < transactions; i++)
        {
            if (!r.TryString(f, q.Bytes, out var txn) || !r.Skip(11) || !TopicsWithPartitionIndexes(ref r, f, q, q.AddGroup(txn)) || !r.TrySkipTags(f))
            {
                return false;
            }
        }

        return r.TrySkipTags(f);
    }

    private static bool TxnOffsetCommit(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.TrySkipString(f) || !r.TryString(f, q.Bytes, out var group) || !r.Skip(10))
        {
            return false;
        }

        q.AddGroup(group);
        if (v >= 3 && (!r.Skip(4) || !r.TrySkipString(f) || !r.TrySkipString(f)))
        {
            return false;
        }

        if (!TopicArrayLength(ref r, f, q, out var topics) || topics < 0)
        {
            return false;
        }

        var fixedPart = 8 + (v >= 2 ? 4 : 0);
        return TopicPartitions(ref r, f, q, topics, fixedPart, PartitionTail.String) && r.TrySkipTags(f);
    }

    private static bool Resource(ref KafkaReader r, bool f, KafkaRequest q)
    {
        if (!r.TryInt8(out var type) || !r.TryString(f, q.Bytes, out var name))
        {
            return false;
        }

        q.AddResource(type, name);
        if (type == KafkaApis.ResourceTypeTopic)
        {
            q.AddTopic(name);
        }

        return true;
    }

    private static bool DescribeConfigs(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if (!r.TryArrayLength(f, out var resources) || resources < 0)
        {
            return false;
        }

        for (var i = 0; i < resources; i++)
        {
            if (!Resource(ref r, f, q) || !r.TryArrayLength(f, out var keys))
            {
                return false;
            }

            for (var k = 0; k < keys; k++)
            {
                if (!r.TrySkipString(f))
                {
                    return false;
                }
            }

            if (!r.TrySkipTags(f))
            {
                return false;
            }
        }

        return r.Skip((v >= 1 ? 1 : 0) + (v >= 3 ? 1 : 0)) && r.TrySkipTags(f);
    }

    private static bool AlterConfigs(ref KafkaReader r, bool f, KafkaRequest q, bool incremental)
    {
        if (!r.TryArrayLength(f, out var resources) || resources < 0)
        {
            return false;
        }

        for (var i = 0; i < resources; i++)
        {
            if (!Resource(ref r, f, q) || !r.TryArrayLength(f, out var configs) || configs < 0)
            {
                return false;
            }

            for (var c = 0; c < configs; c++)
            {
                if (!r.TrySkipString(f) || (incremental && !r.Skip(1)) || !r.TrySkipString(f) || !r.TrySkipTags(f))
                {
                    return false;
                }
            }

            if (!r.TrySkipTags(f))
            {
                return false;
            }
        }

        return r.Skip(1) && r.TrySkipTags(f);
    }

    private static bool DescribeLogDirs(ref KafkaReader r, bool f, KafkaRequest q)
    {
        if (!r.TryArrayLength(f, out var topics))
        {
            return false;
        }

        q.AllTopics = topics < 0;
        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out var t) || !r.TryInt32Array(f, q.Ints, out var parts, out var isNull) || isNull || !r.TrySkipTags(f))
            {
                return false;
            }

            q.TopicAt(t).Partitions = parts;
        }

        return r.TrySkipTags(f);
    }

    private static bool CreatePartitions(ref KafkaReader r, bool f, KafkaRequest q)
    {
        if (!r.TryArrayLength(f, out var topics) || topics < 0)
        {
            return false;
        }

        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out _) || !r.Skip(4) || !r.TryArrayLength(f, out var assignments))
            {
                return false;
            }

            for (var a = 0; a < assignments; a++)
            {
                if (!r.TrySkipFixedArray(f, 4) || !r.TrySkipTags(f))
                {
                    return false;
                }
            }

            if (!r.TrySkipTags(f))
            {
                return false;
            }
        }

        return r.Skip(5) && r.TrySkipTags(f);
    }

    private static bool ElectLeaders(ref KafkaReader r, short v, bool f, KafkaRequest q)
    {
        if ((v >= 1 && !r.Skip(1)) || !r.TryArrayLength(f, out var topics))
        {
            return false;
        }

        q.AllTopics = topics < 0;
        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, f, q, out var t) || !r.TryInt32Array(f, q.Ints, out var parts, out var isNull) || isNull || !r.TrySkipTags(f))
            {
                return false;
            }

            q.TopicAt(t).Partitions = parts;
        }

        return r.Skip(4) && r.TrySkipTags(f);
    }

    private static bool OffsetDelete(ref KafkaReader r, KafkaRequest q)
    {
        if (!r.TryString(false, q.Bytes, out var group) || !r.TryArrayLength(false, out var topics) || topics < 0)
        {
            return false;
        }

        q.AddGroup(group);
        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, false, q, out var t) || !r.TryArrayLength(false, out var parts, 4) || parts < 0)
            {
                return false;
            }

            var start = q.Ints.Count;
            for (var p = 0; p < parts; p++)
            {
                if (!r.TryInt32(out var index))
                {
                    return false;
                }

                q.Ints.Add(index);
            }

            q.TopicAt(t).Partitions = new ByteRange(start, parts);
        }

        return true;
    }

    private static bool ConsumerGroupHeartbeat(ref KafkaReader r, short v, KafkaRequest q)
    {
        if (!r.TryString(true, q.Bytes, out var group) || !r.TrySkipString(true) || !r.Skip(4)
            || !r.TrySkipString(true) || !r.TrySkipString(true) || !r.Skip(4) || !r.TryArrayLength(true, out var names))
        {
            return false;
        }

        q.AddGroup(group);

        // Subscribed names are sent only when they change; they are reported, and topics are enforced where data moves.
        q.InformationalTopicStart = q.TopicCount;
        for (var i = 0; i < names; i++)
        {
            if (!Topic(ref r, true, q, out _))
            {
                return false;
            }
        }

        if ((v >= 1 && !r.TrySkipString(true)) || !r.TrySkipString(true) || !r.TryArrayLength(true, out var owned, 17))
        {
            return false;
        }

        for (var i = 0; i < owned; i++)
        {
            if (!r.Skip(16) || !r.TrySkipFixedArray(true, 4) || !r.TrySkipTags())
            {
                return false;
            }
        }

        return r.TrySkipTags();
    }

    private static bool DescribeTopicPartitions(ref KafkaReader r, KafkaRequest q)
    {
        if (!r.TryArrayLength(true, out var topics) || topics < 0)
        {
            return false;
        }

        for (var i = 0; i < topics; i++)
        {
            if (!Topic(ref r, true, q, out _) || !r.TrySkipTags())
            {
                return false;
            }
        }

        // ResponsePartitionLimit, then Cursor: a nullable struct (INT8 -1 = null) { TopicName, PartitionIndex, tags }.
        if (!r.Skip(4) || !r.TryInt8(out var cursor))
        {
            return false;
        }

        if (cursor >= 0)
        {
            if (!Topic(ref r, true, q, out _) || !r.Skip(4) || !r.TrySkipTags())
            {
                return false;
            }
        }

        return r.TrySkipTags();
    }
}
