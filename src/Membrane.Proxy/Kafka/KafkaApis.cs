namespace Membrane.Proxy.Kafka;

/// <summary>What the codec knows about one API key.</summary>
/// <param name="Key">The API key.</param>
/// <param name="Name">The protocol name (Apache Kafka <c>*Request.json</c>).</param>
/// <param name="MaxVersion">Highest version the proxy lets through (and advertises in ApiVersions).</param>
/// <param name="FlexibleFrom">First flexible version (KIP-482); <see cref="short.MaxValue"/> when never flexible.</param>
/// <param name="ParsesBody">True when the request body is decoded (topics, groups, flags); false for topic-free APIs,
/// of which only the header is read.</param>
/// <param name="MinVersion">Lowest version the proxy lets through (0 except where a version cannot be proxied).</param>
internal readonly record struct KafkaApiInfo(short Key, string Name, short MaxVersion, short FlexibleFrom, bool ParsesBody, short MinVersion = 0)
{
    public bool IsFlexible(short version) => version >= FlexibleFrom;
}

/// <summary>
/// The APIs the proxy lets through, with version caps. Topic-bearing APIs are capped where topic names turn into
/// topic ids (protocol-facts §1.6: Produce and Fetch ≤ 12, OffsetCommit and OffsetFetch ≤ 9, DeleteTopics ≤ 5), so
/// every topic a request touches is visible by name. APIs missing here (inter-broker, KRaft, share groups whose
/// requests carry only topic ids, streams groups) are removed from ApiVersions responses and their requests close the
/// connection, as a broker closes a connection on a request it cannot parse.
/// </summary>
internal static class KafkaApis
{
    private const short Never = short.MaxValue;
    private const short Any = short.MaxValue;

    private static readonly KafkaApiInfo?[] Table = Build();

    public const short Produce = 0;
    public const short Fetch = 1;
    public const short ListOffsets = 2;
    public const short Metadata = 3;
    public const short OffsetCommit = 8;
    public const short OffsetFetch = 9;
    public const short FindCoordinator = 10;
    public const short JoinGroup = 11;
    public const short Heartbeat = 12;
    public const short LeaveGroup = 13;
    public const short SyncGroup = 14;
    public const short ListGroups = 16;
    public const short SaslHandshake = 17;
    public const short ApiVersions = 18;
    public const short CreateTopics = 19;
    public const short DeleteTopics = 20;
    public const short DeleteRecords = 21;
    public const short InitProducerId = 22;
    public const short OffsetForLeaderEpoch = 23;
    public const short AddPartitionsToTxn = 24;
    public const short AddOffsetsToTxn = 25;
    public const short EndTxn = 26;
    public const short TxnOffsetCommit = 28;
    public const short DescribeConfigs = 32;
    public const short AlterConfigs = 33;
    public const short DescribeLogDirs = 35;
    public const short CreatePartitions = 37;
    public const short DeleteGroups = 42;
    public const short ElectLeaders = 43;
    public const short IncrementalAlterConfigs = 44;
    public const short OffsetDelete = 47;
    public const short DescribeProducers = 61;
    public const short GetTelemetrySubscriptions = 71;
    public const short PushTelemetry = 72;
    public const short ConsumerGroupHeartbeat = 68;
    public const short DescribeTopicPartitions = 75;

    /// <summary>Highest ApiVersions request version whose layout the proxy knows.</summary>
    public const short ApiVersionsMax = 4;

    /// <summary>ConfigResource type TOPIC (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs).</summary>
    public const sbyte ResourceTypeTopic = 2;

    public static bool TryGet(short key, out KafkaApiInfo info)
    {
        if ((uint)key < (uint)Table.Length && Table[key] is { } i)
        {
            info = i;
            return true;
        }

        info = default;
        return false;
    }

    public static IEnumerable<KafkaApiInfo> All => Table.Where(t => t.HasValue).Select(t => t!.Value);

    public static string NameOf(short key) => TryGet(key, out var i) ? i.Name : $"ApiKey{key}";

    private static KafkaApiInfo?[] Build()
    {
        KafkaApiInfo[] apis =
        [
            new(0, "Produce", 12, 9, true),
            new(1, "Fetch", 12, 12, true),
            new(2, "ListOffsets", 10, 6, true),
            new(3, "Metadata", 13, 9, true),
            new(8, "OffsetCommit", 9, 8, true),
            new(9, "OffsetFetch", 9, 6, true),
            new(10, "FindCoordinator", 6, 3, true),
            new(11, "JoinGroup", 9, 6, true),
            new(12, "Heartbeat", 4, 4, false),
            new(13, "LeaveGroup", 5, 4, false),
            new(14, "SyncGroup", 5, 4, false),
            new(15, "DescribeGroups", Any, 5, false),
            new(16, "ListGroups", Any, 3, false),
            // v0 switches the connection to raw SASL frames without Kafka headers; v1 wraps them in SaslAuthenticate.
            new(17, "SaslHandshake", Any, Never, false, MinVersion: 1),
            new(18, "ApiVersions", ApiVersionsMax, 3, true),
            new(19, "CreateTopics", 7, 5, true),
            new(20, "DeleteTopics", 5, 4, true),
            new(21, "DeleteRecords", 2, 2, true),
            new(22, "InitProducerId", 6, 2, true),
            new(23, "OffsetForLeaderEpoch", 4, 4, true),
            new(24, "AddPartitionsToTxn", 5, 3, true),
            new(25, "AddOffsetsToTxn", 4, 3, false),
            new(26, "EndTxn", 4, 3, false),
            new(28, "TxnOffsetCommit", 5, 3, true),
            new(29, "DescribeAcls", Any, 2, false),
            new(30, "CreateAcls", Any, 2, false),
            new(31, "DeleteAcls", Any, 2, false),
            new(32, "DescribeConfigs", 4, 4, true),
            new(33, "AlterConfigs", 2, 2, true),
            new(35, "DescribeLogDirs", 4, 2, true),
            new(36, "SaslAuthenticate", Any, 2, false),
            new(37, "CreatePartitions", 3, 2, true),
            new(38, "CreateDelegationToken", Any, 2, false),
            new(39, "RenewDelegationToken", Any, 2, false),
            new(40, "ExpireDelegationToken", Any, 2, false),
            new(41, "DescribeDelegationToken", Any, 2, false),
            new(42, "DeleteGroups", Any, 2, false),
            new(43, "ElectLeaders", 2, 2, true),
            new(44, "IncrementalAlterConfigs", 1, 1, true),
            new(47, "OffsetDelete", 0, Never, true),
            new(48, "DescribeClientQuotas", Any, 1, false),
            new(49, "AlterClientQuotas", Any, 1, false),
            new(50, "DescribeUserScramCredentials", Any, 0, false),
            new(51, "AlterUserScramCredentials", Any, 0, false),
            new(60, "DescribeCluster", Any, 0, false),
            new(61, "DescribeProducers", 0, 0, true),
            new(65, "DescribeTransactions", Any, 0, false),
            new(66, "ListTransactions", Any, 0, false),
            new(68, "ConsumerGroupHeartbeat", 1, 0, true),
            new(69, "ConsumerGroupDescribe", Any, 0, false),
            new(71, "GetTelemetrySubscriptions", Any, 0, false),
            new(72, "PushTelemetry", Any, 0, false),
            new(75, "DescribeTopicPartitions", 0, 0, true),
        ];
        var table = new KafkaApiInfo?[128];
        foreach (var a in apis)
        {
            table[a.Key] = a;
        }

        return table;
    }
}
