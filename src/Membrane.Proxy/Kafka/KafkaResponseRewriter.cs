using System.Buffers;
using System.Net;
using System.Text;

namespace Membrane.Proxy.Kafka;

/// <summary>Decides, per topic name, whether a Metadata response may show it.</summary>
internal interface IKafkaTopicFilter
{
    bool IsAllowed(ReadOnlySpan<byte> topic);
}

/// <summary>
/// Pure rewriters for the responses the proxy changes: ApiVersions (version caps), Metadata (topic filtering, denied
/// entries, broker addresses in explicit mode) and FindCoordinator (coordinator address in explicit mode), plus the
/// Metadata request rewrite that keeps denied topic names away from the broker. Each returns false on a malformed
/// frame (the engine closes the connection) and writes one whole frame into the writer otherwise.
/// </summary>
internal static class KafkaResponseRewriter
{
    /// <summary>
    /// ApiVersions response (header v0 always, KIP-511): keeps only the APIs in <see cref="KafkaApis"/> and caps their
    /// ranges to what the proxy parses. Produce's minimum is never raised (KAFKA-18659). Error answers are relayed as
    /// they are: no version is negotiated from them (the client retries, and a retry above the proxy's ApiVersions range
    /// gets the proxy's own UNSUPPORTED_VERSION), and their body shape differs between brokers (Apache Kafka uses the v0
    /// body for UNSUPPORTED_VERSION, librdkafka's mock the request's version).
    /// </summary>
    public static bool RewriteApiVersions(in ReadOnlySequence<byte> payload, short requestVersion, KafkaWriter w)
    {
        var r = new KafkaReader(payload);
        if (!r.TryInt32(out var correlationId) || !r.TryInt16(out var error))
        {
            return false;
        }

        if (error != KafkaErrors.None)
        {
            w.BeginFrame();
            w.Raw(payload);
            w.EndFrame();
            return true;
        }

        var f = requestVersion >= 3;
        if (!r.TryArrayLength(f, out var count, 6) || count < 0)
        {
            return false;
        }

        Span<(short Key, short Min, short Max)> kept = count <= 128 ? stackalloc (short, short, short)[count] : new (short, short, short)[count];
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            if (!r.TryInt16(out var key) || !r.TryInt16(out var min) || !r.TryInt16(out var max) || !r.TrySkipTags(f))
            {
                return false;
            }

            if (!KafkaApis.TryGet(key, out var api))
            {
                continue;
            }

            var newMin = Math.Max(min, api.MinVersion);
            var newMax = Math.Min(max, api.MaxVersion);
            if (newMin <= newMax)
            {
                kept[n++] = (key, newMin, newMax);
            }
        }

        w.BeginFrame();
        w.Int32(correlationId);
        w.Int16(error);
        w.ArrayLength(f, n);
        foreach (var (key, min, max) in kept[..n])
        {
            w.Int16(key);
            w.Int16(min);
            w.Int16(max);
            w.Tags(f);
        }

        w.Raw(payload.Slice(r.Position));
        w.EndFrame();
        return true;
    }

    /// <summary>
    /// Metadata request with some topics denied: forwards the same request with only <paramref name="allowed"/>
    /// topics, so denied names never reach the broker (which could auto-create them). The caller answers the denied
    /// ones itself when the response comes back.
    /// </summary>
    public static void RewriteMetadataRequest(in ReadOnlySequence<byte> payload, KafkaRequest q, ReadOnlySpan<bool> allowed, KafkaWriter w) =>
        KafkaSplit.WriteRequest(payload, q, allowed, w);

    /// <summary>
    /// Metadata response: drops topics <paramref name="filter"/> refuses (a broker omits unauthorized topics from
    /// all-topics answers), appends <paramref name="deniedEntries"/> (pre-encoded error-29 topic elements for
    /// explicitly requested denied topics), and in explicit mode points every broker at <paramref name="advertised"/>.
    /// </summary>
    public static bool RewriteMetadata<TFilter>(in ReadOnlySequence<byte> payload, short v, TFilter filter, int deniedCount, ReadOnlySpan<byte> deniedEntries, IPEndPoint? advertised, KafkaByteArena scratch, KafkaWriter w)
        where TFilter : IKafkaTopicFilter, allows ref struct
    {
        var f = v >= 9;
        var r = new KafkaReader(payload);
        w.BeginFrame();
        if (!r.TryInt32(out var correlationId) || !r.TrySkipTags(f) || (v >= 3 && !r.Skip(4)))
        {
            return false;
        }

        w.ResponseHeader(correlationId, f);
        if (v >= 3)
        {
            w.Raw(payload.Slice(r.Consumed - 4, 4));
        }

        if (!Brokers(ref r, payload, v, f, advertised, w))
        {
            return false;
        }

        var clusterStart = r.Consumed;
        if ((v >= 2 && !r.TrySkipString(f)) || (v >= 1 && !r.Skip(4)))
        {
            return false;
        }

        w.Raw(payload.Slice(clusterStart, r.Consumed - clusterStart));
        if (!r.TryArrayLength(f, out var topics) || topics < 0)
        {
            return false;
        }

        // Count first so the array length can be written before the elements.
        var countPass = r;
        var kept = 0;
        for (var i = 0; i < topics; i++)
        {
            if (!MetadataTopic(ref countPass, v, f, scratch, out var name, out var isNull))
            {
                return false;
            }

            kept += !isNull && filter.IsAllowed(scratch[name]) ? 1 : 0;
        }

        w.ArrayLength(f, kept + deniedCount);
        for (var i = 0; i < topics; i++)
        {
            var start = r.Consumed;
            MetadataTopic(ref r, v, f, scratch, out var name, out var isNull);
            if (!isNull && filter.IsAllowed(scratch[name]))
            {
                w.Raw(payload.Slice(start, r.Consumed - start));
            }
        }

        w.Raw(deniedEntries);
        w.Raw(payload.Slice(r.Position));
        w.EndFrame();
        return true;
    }

    private static bool Brokers(ref KafkaReader r, in ReadOnlySequence<byte> payload, short v, bool f, IPEndPoint? advertised, KafkaWriter w)
    {
        if (!r.TryArrayLength(f, out var brokers) || brokers < 0)
        {
            return false;
        }

        w.ArrayLength(f, brokers);
        for (var i = 0; i < brokers; i++)
        {
            if (!r.TryInt32(out var nodeId))
            {
                return false;
            }

            w.Int32(nodeId);
            if (!HostPort(ref r, payload, f, advertised, w))
            {
                return false;
            }

            var rest = r.Consumed;
            if ((v >= 1 && !r.TrySkipString(f)) || !r.TrySkipTags(f))
            {
                return false;
            }

            w.Raw(payload.Slice(rest, r.Consumed - rest));
        }

        return true;
    }

    /// <summary>Copies (or, in explicit mode, replaces) a <c>Host STRING, Port INT32</c> pair.</summary>
    private static bool HostPort(ref KafkaReader r, in ReadOnlySequence<byte> payload, bool f, IPEndPoint? advertised, KafkaWriter w)
    {
        var start = r.Consumed;
        if (!r.TrySkipString(f) || !r.Skip(4))
        {
            return false;
        }

        if (advertised is null)
        {
            w.Raw(payload.Slice(start, r.Consumed - start));
            return true;
        }

        Span<byte> host = stackalloc byte[64];
        var length = Encoding.ASCII.GetBytes(advertised.Address.ToString(), host);
        w.String(f, host[..length]);
        w.Int32(advertised.Port);
        return true;
    }

    private static bool MetadataTopic(ref KafkaReader r, short v, bool f, KafkaByteArena scratch, out ByteRange name, out bool isNull)
    {
        scratch.Clear();
        name = default;
        isNull = false;
        if (!r.Skip(2) || !r.TryNullableString(f, scratch, out name, out isNull) || (isNull && v < 12))
        {
            return false;
        }

        if ((v >= 10 && !r.Skip(16)) || (v >= 1 && !r.Skip(1)) || !r.TryArrayLength(f, out var partitions, 14) || partitions < 0)
        {
            return false;
        }

        for (var p = 0; p < partitions; p++)
        {
            // ErrorCode, PartitionIndex, LeaderId, LeaderEpoch@7+, ReplicaNodes, IsrNodes, OfflineReplicas@5+.
            if (!r.Skip(10 + (v >= 7 ? 4 : 0)) || !r.TrySkipFixedArray(f, 4) || !r.TrySkipFixedArray(f, 4)
                || (v >= 5 && !r.TrySkipFixedArray(f, 4)) || !r.TrySkipTags(f))
            {
                return false;
            }
        }

        return (v < 8 || r.Skip(4)) && r.TrySkipTags(f);
    }

    /// <summary>FindCoordinator response in explicit mode: the coordinator's address becomes the proxy's.</summary>
    public static bool RewriteFindCoordinator(in ReadOnlySequence<byte> payload, short v, IPEndPoint advertised, KafkaWriter w)
    {
        var f = v >= 3;
        var r = new KafkaReader(payload);
        w.BeginFrame();
        if (!r.TryInt32(out var correlationId) || !r.TrySkipTags(f))
        {
            return false;
        }

        w.ResponseHeader(correlationId, f);
        var start = r.Consumed;
        if (v <= 3)
        {
            if ((v >= 1 && !r.Skip(4)) || !r.Skip(2) || (v >= 1 && !r.TrySkipString(f)) || !r.TryInt32(out var nodeId))
            {
                return false;
            }

            w.Raw(payload.Slice(start, r.Consumed - start));
            if (!HostPort(ref r, payload, f, nodeId >= 0 ? advertised : null, w))
            {
                return false;
            }
        }
        else
        {
            if (!r.Skip(4) || !r.TryArrayLength(f, out var coordinators) || coordinators < 0)
            {
                return false;
            }

            w.Raw(payload.Slice(start, 4));
            w.ArrayLength(f, coordinators);
            for (var i = 0; i < coordinators; i++)
            {
                var keyStart = r.Consumed;
                if (!r.TrySkipString(f) || !r.TryInt32(out var nodeId))
                {
                    return false;
                }

                w.Raw(payload.Slice(keyStart, r.Consumed - keyStart));
                if (!HostPort(ref r, payload, f, nodeId >= 0 ? advertised : null, w))
                {
                    return false;
                }

                var rest = r.Consumed;
                if (!r.Skip(2) || !r.TrySkipString(f) || !r.TrySkipTags(f))
                {
                    return false;
                }

                w.Raw(payload.Slice(rest, r.Consumed - rest));
            }
        }

        w.Raw(payload.Slice(r.Position));
        w.EndFrame();
        return true;
    }

    /// <summary>
    /// The first non-zero partition error of a Produce response (for the response event), or 0; a response that does not
    /// parse also reads as 0 (it is relayed unchanged either way).
    /// </summary>
    public static short FirstProduceError(in ReadOnlySequence<byte> payload, short v)
    {
        var f = v >= 9;
        var r = new KafkaReader(payload);
        if (!r.Skip(4) || !r.TrySkipTags(f) || !r.TryArrayLength(f, out var topics))
        {
            return 0;
        }

        for (var t = 0; t < topics; t++)
        {
            if (!r.TrySkipString(f) || !r.TryArrayLength(f, out var partitions))
            {
                return 0;
            }

            for (var p = 0; p < partitions; p++)
            {
                if (!r.Skip(4) || !r.TryInt16(out var error))
                {
                    return 0;
                }

                if (error != 0)
                {
                    return error;
                }

                if (!r.Skip(8 + (v >= 2 ? 8 : 0) + (v >= 5 ? 8 : 0)))
                {
                    return 0;
                }

                if (v >= 8)
                {
                    if (!r.TryArrayLength(f, out var recordErrors))
                    {
                        return 0;
                    }

                    for (var e = 0; e < recordErrors; e++)
                    {
                        if (!r.Skip(4) || !r.TrySkipString(f) || !r.TrySkipTags(f))
                        {
                            return 0;
                        }
                    }

                    if (!r.TrySkipString(f))
                    {
                        return 0;
                    }
                }

                if (!r.TrySkipTags(f))
                {
                    return 0;
                }
            }

            if (!r.TrySkipTags(f))
            {
                return 0;
            }
        }

        return 0;
    }
}
