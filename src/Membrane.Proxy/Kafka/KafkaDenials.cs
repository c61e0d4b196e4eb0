namespace Membrane.Proxy.Kafka;

/// <summary>Kafka error codes the proxy answers with (Apache Kafka <c>Errors.java</c>; protocol-facts §1.7).</summary>
internal static class KafkaErrors
{
    public const short None = 0;
    public const short TopicAuthorizationFailed = 29;
    public const short GroupAuthorizationFailed = 30;
    public const short ClusterAuthorizationFailed = 31;
    public const short UnsupportedVersion = 35;
    public const short OperationNotAttempted = 55;
    public const short TransactionalIdAuthorizationFailed = 53;
    public const short FetchSessionIdNotFound = 70;
}

/// <summary>
/// Synthesizes the response a broker with ACLs would send for a denied request, in the exact shape of the request's
/// API and version (Apache Kafka <c>*Response.json</c>): every topic and partition the request named is echoed with
/// TOPIC_AUTHORIZATION_FAILED (29); group APIs answer GROUP_AUTHORIZATION_FAILED (30) at the top level, transactional
/// ones TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53), cluster-level ones CLUSTER_AUTHORIZATION_FAILED (31).
/// </summary>
internal static class KafkaDenials
{
    private const int UnknownAuthorizedOperations = int.MinValue;

    private static ReadOnlySpan<byte> DeniedMessage => "Denied by Membrane policy"u8;

    /// <summary>The error code a denial of this request carries at its most visible level.</summary>
    public static short ErrorCodeFor(KafkaRequest q) => q.ApiKey switch
    {
        KafkaApis.FindCoordinator => q.CoordinatorKeyType == 1 ? KafkaErrors.TransactionalIdAuthorizationFailed : KafkaErrors.GroupAuthorizationFailed,
        KafkaApis.JoinGroup or KafkaApis.Heartbeat or KafkaApis.LeaveGroup or KafkaApis.SyncGroup
            or KafkaApis.ConsumerGroupHeartbeat => KafkaErrors.GroupAuthorizationFailed,
        KafkaApis.AddOffsetsToTxn or KafkaApis.EndTxn => KafkaErrors.TransactionalIdAuthorizationFailed,
        KafkaApis.InitProducerId => q.HasTransactionalId
            ? KafkaErrors.TransactionalIdAuthorizationFailed
            : KafkaErrors.ClusterAuthorizationFailed,
        KafkaApis.ApiVersions or KafkaApis.ListGroups or KafkaApis.GetTelemetrySubscriptions or KafkaApis.PushTelemetry
            => KafkaErrors.ClusterAuthorizationFailed,
        _ => KafkaErrors.TopicAuthorizationFailed,
    };

    /// <summary>
    /// Writes one whole response frame denying <paramref name="q"/>. Returns false when the proxy has no denial shape
    /// for this API (the engine then closes the connection rather than leave the client waiting).
    /// </summary>
    /// <remarks>AddPartitionsToTxn with <paramref name="allowed"/>: topics it marks are answered
    /// OPERATION_NOT_ATTEMPTED (55), the rest 29 — a broker fails the whole request when any topic is unauthorized
    /// (Apache Kafka <c>KafkaApis.handleAddPartitionsToTransactionRequest</c>).</remarks>
    public static bool TryWrite(KafkaRequest q, KafkaWriter w, ReadOnlySpan<bool> allowed = default)
    {
        var v = q.ApiVersion;
        var f = q.Flexible;
        var e = ErrorCodeFor(q);
        w.BeginFrame();
        w.ResponseHeader(q.CorrelationId, f && q.ApiKey != KafkaApis.ApiVersions);
        switch (q.ApiKey)
        {
            case KafkaApis.Produce:
                PerPartition(q, w, f, e, ProducePartition);
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
                    w.Int16(KafkaErrors.None);
                    w.Int32(0);
                }

                PerPartition(q, w, f, e, FetchPartition);
                break;

            case KafkaApis.ListOffsets:
                if (v >= 2)
                {
                    w.Int32(0);
                }

                PerPartition(q, w, f, e, ListOffsetsPartition);
                break;

            case KafkaApis.Metadata:
                WriteMetadataDenial(q, w, v, f);
                break;

            case KafkaApis.OffsetCommit:
            case KafkaApis.TxnOffsetCommit:
                if (v >= 3 || q.ApiKey == KafkaApis.TxnOffsetCommit)
                {
                    w.Int32(0);
                }

                PerPartition(q, w, f, e, CommitPartition);
                break;

            case KafkaApis.OffsetFetch:
                WriteOffsetFetchDenial(q, w, v, f, e);
                break;

            case KafkaApis.FindCoordinator:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                if (v <= 3)
                {
                    w.Int16(e);
                    if (v >= 1)
                    {
                        w.String(f, DeniedMessage);
                    }

                    w.Int32(-1);
                    w.String(f, default);
                    w.Int32(-1);
                }
                else
                {
                    w.ArrayLength(f, q.GroupCount);
                    foreach (var key in q.Groups)
                    {
                        w.String(f, q.Bytes[key]);
                        w.Int32(-1);
                        w.String(f, default);
                        w.Int32(-1);
                        w.Int16(e);
                        w.String(f, DeniedMessage);
                        w.Tags(f);
                    }
                }

                break;

            case KafkaApis.JoinGroup:
                if (v >= 2)
                {
                    w.Int32(0);
                }

                w.Int16(e);
                w.Int32(-1);
                if (v >= 7)
                {
                    w.NullString(f);
                    w.NullString(f);
                }
                else
                {
                    w.String(f, default);
                }

                w.String(f, default);
                if (v >= 9)
                {
                    w.Bool(false);
                }

                w.String(f, default);
                w.ArrayLength(f, 0);
                break;

            case KafkaApis.Heartbeat:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                w.Int16(e);
                break;

            case KafkaApis.LeaveGroup:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                w.Int16(e);
                if (v >= 3)
                {
                    w.ArrayLength(f, 0);
                }

                break;

            case KafkaApis.SyncGroup:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                w.Int16(e);
                if (v >= 5)
                {
                    w.NullString(f);
                    w.NullString(f);
                }

                w.Bytes(f, default);
                break;

            case KafkaApis.AddOffsetsToTxn:
            case KafkaApis.EndTxn when v <= 4:
                w.Int32(0);
                w.Int16(e);
                break;

            case KafkaApis.ApiVersions:
                w.Int16(e);
                w.ArrayLength(v >= 3, 0);
                if (v >= 1)
                {
                    w.Int32(0);
                }

                break;

            case KafkaApis.CreateTopics:
                if (v >= 2)
                {
                    w.Int32(0);
                }

                w.ArrayLength(f, q.EvaluatedTopicCount);
                foreach (var t in q.Topics[..q.EvaluatedTopicCount])
                {
                    w.String(f, q.NameOf(t));
                    if (v >= 7)
                    {
                        w.Uuid(Guid.Empty);
                    }

                    w.Int16(e);
                    if (v >= 1)
                    {
                        w.String(f, DeniedMessage);
                    }

                    if (v >= 5)
                    {
                        w.Int32(-1);
                        w.Int16(-1);
                        w.ArrayLength(f, -1);
                    }

                    w.Tags(f);
                }

                break;

            case KafkaApis.DeleteTopics:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                w.ArrayLength(f, q.EvaluatedTopicCount);
                foreach (var t in q.Topics[..q.EvaluatedTopicCount])
                {
                    w.String(f, q.NameOf(t));
                    w.Int16(e);
                    if (v >= 5)
                    {
                        w.String(f, DeniedMessage);
                    }

                    w.Tags(f);
                }

                break;

            case KafkaApis.DeleteRecords:
                w.Int32(0);
                PerPartition(q, w, f, e, DeleteRecordsPartition);
                break;

            case KafkaApis.InitProducerId:
                w.Int32(0);
                w.Int16(e);
                w.Int64(-1);
                w.Int16(-1);
                break;

            case KafkaApis.OffsetForLeaderEpoch:
                if (v >= 2)
                {
                    w.Int32(0);
                }

                PerPartition(q, w, f, e, OffsetForLeaderEpochPartition);
                break;

            case KafkaApis.AddPartitionsToTxn:
                w.Int32(0);
                if (v >= 4)
                {
                    w.Int16(KafkaErrors.None);
                    w.ArrayLength(f, q.GroupCount);
                    for (var g = 0; g < q.GroupCount; g++)
                    {
                        w.String(f, q.Bytes[q.Groups[g]]);
                        PerPartition(q, w, f, e, TxnPartition, g, allowed, KafkaErrors.OperationNotAttempted);
                        w.Tags(f);
                    }
                }
                else
                {
                    PerPartition(q, w, f, e, TxnPartition, allowed: allowed, allowedError: KafkaErrors.OperationNotAttempted);
                }

                break;

            case KafkaApis.DescribeConfigs:
            case KafkaApis.AlterConfigs:
            case KafkaApis.IncrementalAlterConfigs:
                w.Int32(0);
                w.ArrayLength(f, q.ResourceCount);
                foreach (var res in q.Resources)
                {
                    w.Int16(res.Type == KafkaApis.ResourceTypeTopic ? e : KafkaErrors.ClusterAuthorizationFailed);
                    w.String(f, DeniedMessage);
                    w.Int8(res.Type);
                    w.String(f, q.Bytes[res.Name]);
                    if (q.ApiKey == KafkaApis.DescribeConfigs)
                    {
                        w.ArrayLength(f, 0);
                    }

                    w.Tags(f);
                }

                break;

            case KafkaApis.DescribeLogDirs:
                w.Int32(0);
                if (v >= 3)
                {
                    w.Int16(e);
                }

                w.ArrayLength(f, 0);
                break;

            case KafkaApis.CreatePartitions:
                w.Int32(0);
                w.ArrayLength(f, q.EvaluatedTopicCount);
                foreach (var t in q.Topics[..q.EvaluatedTopicCount])
                {
                    w.String(f, q.NameOf(t));
                    w.Int16(e);
                    w.String(f, DeniedMessage);
                    w.Tags(f);
                }

                break;

            case KafkaApis.ElectLeaders:
                w.Int32(0);
                if (v >= 1)
                {
                    w.Int16(q.AllTopics ? e : KafkaErrors.None);
                }

                PerPartition(q, w, f, e, ElectLeadersPartition);
                break;

            case KafkaApis.OffsetDelete:
                w.Int16(KafkaErrors.None);
                w.Int32(0);
                PerPartition(q, w, f, e, OffsetDeletePartition);
                break;

            case KafkaApis.DescribeProducers:
                w.Int32(0);
                PerPartition(q, w, f, e, DescribeProducersPartition);
                break;

            case KafkaApis.ConsumerGroupHeartbeat:
                w.Int32(0);
                w.Int16(e);
                w.String(f, DeniedMessage);
                w.NullString(f);
                w.Int32(-1);
                w.Int32(0);
                w.Int8(-1);
                break;

            case KafkaApis.DescribeTopicPartitions:
                w.Int32(0);
                w.ArrayLength(f, q.TopicCount);
                foreach (var t in q.Topics)
                {
                    w.Int16(e);
                    w.String(f, q.NameOf(t));
                    w.Uuid(Guid.Empty);
                    w.Bool(false);
                    w.ArrayLength(f, 0);
                    w.Int32(UnknownAuthorizedOperations);
                    w.Tags(f);
                }

                w.Int8(-1);
                break;

            case KafkaApis.ListGroups:
                if (v >= 1)
                {
                    w.Int32(0);
                }

                w.Int16(e);
                w.ArrayLength(f, 0);
                break;

            case KafkaApis.GetTelemetrySubscriptions when v == 0:
                // KIP-714: an error makes the client stop pushing metrics (it is not told which ones to collect).
                w.Int32(0);
                w.Int16(e);
                w.Uuid(Guid.Empty);
                w.Int32(0);
                w.ArrayLength(f, 0);
                w.Int32(0);
                w.Int32(0);
                w.Bool(false);
                w.ArrayLength(f, 0);
                break;

            case KafkaApis.PushTelemetry when v == 0:
                w.Int32(0);
                w.Int16(e);
                break;

            default:
                w.Clear();
                return false;
        }

        w.Tags(f);
        w.EndFrame();
        return true;
    }

    /// <summary>FETCH_SESSION_ID_NOT_FOUND: the client drops its incremental session and sends a full fetch, which
    /// policy then sees whole (KIP-227 sessions keep partitions the request no longer names).</summary>
    public static void WriteFetchSessionReset(KafkaRequest q, KafkaWriter w)
    {
        var f = q.Flexible;
        w.BeginFrame();
        w.ResponseHeader(q.CorrelationId, f);
        w.Int32(0);
        w.Int16(KafkaErrors.FetchSessionIdNotFound);
        w.Int32(0);
        w.ArrayLength(f, 0);
        w.Tags(f);
        w.EndFrame();
    }

    /// <summary>ApiVersions of a version the proxy cannot parse: v0 body with UNSUPPORTED_VERSION and the range it
    /// can (KIP-511), so the client retries lower, as it does against a broker.</summary>
    public static void WriteApiVersionsUnsupported(int correlationId, KafkaWriter w)
    {
        w.BeginFrame();
        w.ResponseHeader(correlationId, false);
        w.Int16(KafkaErrors.UnsupportedVersion);
        w.ArrayLength(false, 1);
        w.Int16(KafkaApis.ApiVersions);
        w.Int16(0);
        w.Int16(KafkaApis.ApiVersionsMax);
        w.EndFrame();
    }

    /// <summary>One denied Metadata topic entry (MetadataResponse <c>Topics[]</c> element) for the request's version.</summary>
    public static void WriteMetadataTopic(KafkaWriter w, short v, bool f, ReadOnlySpan<byte> name, bool nameIsNull, Guid id, short error)
    {
        w.Int16(error);
        if (nameIsNull)
        {
            w.NullString(f);
        }
        else
        {
            w.String(f, name);
        }

        if (v >= 10)
        {
            w.Uuid(id);
        }

        if (v >= 1)
        {
            w.Bool(false);
        }

        w.ArrayLength(f, 0);
        if (v >= 8)
        {
            w.Int32(UnknownAuthorizedOperations);
        }

        w.Tags(f);
    }

    private static void WriteMetadataDenial(KafkaRequest q, KafkaWriter w, short v, bool f)
    {
        if (v >= 3)
        {
            w.Int32(0);
        }

        w.ArrayLength(f, 0);
        if (v >= 2)
        {
            w.NullString(f);
        }

        if (v >= 1)
        {
            w.Int32(-1);
        }

        w.ArrayLength(f, q.TopicCount);
        foreach (var t in q.Topics)
        {
            WriteMetadataTopic(w, v, f, q.NameOf(t), t.NameIsNull, t.TopicId, KafkaErrors.TopicAuthorizationFailed);
        }

        if (v >= 8 && v <= 10)
        {
            w.Int32(UnknownAuthorizedOperations);
        }

        if (v >= 13)
        {
            w.Int16(KafkaErrors.None);
        }
    }

    private static void WriteOffsetFetchDenial(KafkaRequest q, KafkaWriter w, short v, bool f, short e)
    {
        if (v >= 3)
        {
            w.Int32(0);
        }

        if (v <= 7)
        {
            PerPartition(q, w, f, e, OffsetFetchPartition);
            if (v >= 2)
            {
                w.Int16(q.AllTopics ? e : KafkaErrors.None);
            }

            return;
        }

        w.ArrayLength(f, q.GroupCount);
        for (var g = 0; g < q.GroupCount; g++)
        {
            w.String(f, q.Bytes[q.Groups[g]]);
            var any = PerPartition(q, w, f, e, OffsetFetchPartition, g);
            w.Int16(any == 0 && q.AllTopics ? e : KafkaErrors.None);
            w.Tags(f);
        }
    }

    private static void ProducePartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
        w.Int64(-1);
        if (v >= 2)
        {
            w.Int64(-1);
        }

        if (v >= 5)
        {
            w.Int64(-1);
        }

        if (v >= 8)
        {
            w.ArrayLength(f, 0);
            w.NullString(f);
        }
    }

    private static void FetchPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
        w.Int64(-1);
        if (v >= 4)
        {
            w.Int64(-1);
        }

        if (v >= 5)
        {
            w.Int64(-1);
        }

        if (v >= 4)
        {
            w.ArrayLength(f, 0);
        }

        if (v >= 11)
        {
            w.Int32(-1);
        }

        w.Bytes(f, default);
    }

    private static void ListOffsetsPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
        if (v == 0)
        {
            w.ArrayLength(f, 0);
        }
        else
        {
            w.Int64(-1);
            w.Int64(-1);
        }

        if (v >= 4)
        {
            w.Int32(-1);
        }
    }

    private static void CommitPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
    }

    private static void DeleteRecordsPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int64(-1);
        w.Int16(e);
    }

    private static void OffsetForLeaderEpochPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int16(e);
        w.Int32(p);
        if (v >= 1)
        {
            w.Int32(-1);
        }

        w.Int64(-1);
    }

    private static void ElectLeadersPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
        w.String(f, DeniedMessage);
    }

    private static void OffsetDeletePartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
    }

    private static void DescribeProducersPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
        w.String(f, DeniedMessage);
        w.ArrayLength(f, 0);
    }

    private static void OffsetFetchPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int64(-1);
        if (v >= 5)
        {
            w.Int32(-1);
        }

        w.String(f, default);
        w.Int16(e);
    }

    private static void TxnPartition(KafkaWriter w, short v, bool f, short e, int p)
    {
        w.Int32(p);
        w.Int16(e);
    }

    private delegate void PartitionWriter(KafkaWriter w, short version, bool flexible, short error, int partition);

    /// <summary>
    /// <c>Topics[] { Name, Partitions[] { … } }</c> echoing the request's evaluated topics (of one group when
    /// <paramref name="group"/> ≥ 0); returns the number of topics written. With <paramref name="allowed"/>, topics it
    /// marks carry <paramref name="allowedError"/> instead of <paramref name="e"/>.
    /// </summary>
    private static int PerPartition(KafkaRequest q, KafkaWriter w, bool f, short e, PartitionWriter partition, int group = -1, ReadOnlySpan<bool> allowed = default, short allowedError = KafkaErrors.None)
    {
        var topics = q.Topics[..q.EvaluatedTopicCount];
        var count = 0;
        foreach (var t in topics)
        {
            count += group < 0 || t.Group == group ? 1 : 0;
        }

        w.ArrayLength(f, count);
        for (var i = 0; i < topics.Length; i++)
        {
            if (group < 0 || topics[i].Group == group)
            {
                TopicEntry(q, w, f, !allowed.IsEmpty && allowed[i] ? allowedError : e, partition, topics[i]);
            }
        }

        return count;
    }

    private static void TopicEntry(KafkaRequest q, KafkaWriter w, bool f, short e, PartitionWriter partition, in KafkaTopicEntry t)
    {
        w.String(f, q.NameOf(t));
        var parts = q.Ints[t.Partitions];
        w.ArrayLength(f, parts.Length);
        foreach (var p in parts)
        {
            partition(w, q.ApiVersion, f, e, p);
            w.Tags(f);
        }

        w.Tags(f);
    }

    /// <summary>
    /// The response's topic elements (without the array length) for the request's topics that
    /// <paramref name="allowed"/> does not mark, in request order, each partition with TOPIC_AUTHORIZATION_FAILED and
    /// the same field defaults as a whole denial; returns how many were written. Only for APIs
    /// <see cref="KafkaSplit.CanSplit"/> accepts.
    /// </summary>
    public static int WriteDeniedTopics(KafkaRequest q, ReadOnlySpan<bool> allowed, KafkaWriter w)
    {
        PartitionWriter partition = q.ApiKey switch
        {
            KafkaApis.Produce => ProducePartition,
            KafkaApis.Fetch => FetchPartition,
            KafkaApis.ListOffsets => ListOffsetsPartition,
            KafkaApis.OffsetCommit or KafkaApis.TxnOffsetCommit => CommitPartition,
            KafkaApis.OffsetFetch => OffsetFetchPartition,
            KafkaApis.DeleteRecords => DeleteRecordsPartition,
            KafkaApis.OffsetForLeaderEpoch => OffsetForLeaderEpochPartition,
            _ => throw new ArgumentOutOfRangeException(nameof(q), q.ApiKey, "API whose requests are not split"),
        };
        var count = 0;
        for (var i = 0; i < allowed.Length; i++)
        {
            if (!allowed[i])
            {
                TopicEntry(q, w, q.Flexible, KafkaErrors.TopicAuthorizationFailed, partition, q.TopicAt(i));
                count++;
            }
        }

        return count;
    }
}
