namespace Membrane.Policy.L7.Kafka;

/// <summary>
/// One <c>toPorts[].rules.kafka[]</c> entry as written in a policy (Cilium's <c>kafka.PortRule</c>, reference §3.1).
/// <see cref="Role"/> and <see cref="ApiKey"/> are mutually exclusive; null or empty fields mean "any".
/// </summary>
/// <param name="Role"><c>produce</c> or <c>consume</c> (case-insensitive), expanded to fixed API key sets.</param>
/// <param name="ApiKey">An API key name from Cilium's <c>APIKeyMap</c> (case-insensitive), e.g. <c>fetch</c>.</param>
/// <param name="ApiVersion">An exact API version (int16 as a string).</param>
/// <param name="ClientId">Exact client id.</param>
/// <param name="Topic">Exact topic name.</param>
public sealed record KafkaRule(
    string? Role = null,
    string? ApiKey = null,
    string? ApiVersion = null,
    string? ClientId = null,
    string? Topic = null);

/// <summary>Kafka API key numbers and the tables Cilium's policy uses (reference §3).</summary>
public static class KafkaApiKeys
{
    /// <summary>Produce.</summary>
    public const short Produce = 0;

    /// <summary>Fetch.</summary>
    public const short Fetch = 1;

    /// <summary>ListOffsets (Cilium name: offsets).</summary>
    public const short ListOffsets = 2;

    /// <summary>Metadata.</summary>
    public const short Metadata = 3;

    /// <summary>OffsetCommit.</summary>
    public const short OffsetCommit = 8;

    /// <summary>OffsetFetch.</summary>
    public const short OffsetFetch = 9;

    /// <summary>FindCoordinator.</summary>
    public const short FindCoordinator = 10;

    /// <summary>ApiVersions.</summary>
    public const short ApiVersions = 18;

    /// <summary>Cilium's <c>APIKeyMap</c>: the names a policy may use in <c>apiKey</c> (keys 0–33 only).</summary>
    public static IReadOnlyDictionary<string, short> ByName { get; } = new Dictionary<string, short>(StringComparer.OrdinalIgnoreCase)
    {
        ["produce"] = 0, ["fetch"] = 1, ["offsets"] = 2, ["metadata"] = 3, ["leaderandisr"] = 4, ["stopreplica"] = 5,
        ["updatemetadata"] = 6, ["controlledshutdown"] = 7, ["offsetcommit"] = 8, ["offsetfetch"] = 9,
        ["findcoordinator"] = 10, ["joingroup"] = 11, ["heartbeat"] = 12, ["leavegroup"] = 13, ["syncgroup"] = 14,
        ["describegroups"] = 15, ["listgroups"] = 16, ["saslhandshake"] = 17, ["apiversions"] = 18,
        ["createtopics"] = 19, ["deletetopics"] = 20, ["deleterecords"] = 21, ["initproducerid"] = 22,
        ["offsetforleaderepoch"] = 23, ["addpartitionstotxn"] = 24, ["addoffsetstotxn"] = 25, ["endtxn"] = 26,
        ["writetxnmarkers"] = 27, ["txnoffsetcommit"] = 28, ["describeacls"] = 29, ["createacls"] = 30,
        ["deleteacls"] = 31, ["describeconfigs"] = 32, ["alterconfigs"] = 33,
    };

    /// <summary><c>role: produce</c> → Produce, Metadata, ApiVersions (Cilium <c>GetAPIKeys</c>).</summary>
    public static IReadOnlyList<short> ProduceRole { get; } = [0, 3, 18];

    /// <summary><c>role: consume</c> → Fetch, ListOffsets, Metadata, OffsetCommit, OffsetFetch, FindCoordinator,
    /// JoinGroup, Heartbeat, LeaveGroup, SyncGroup, ApiVersions.</summary>
    public static IReadOnlyList<short> ConsumeRole { get; } = [1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18];

    /// <summary>
    /// True for API keys whose requests carry topics, so a rule's <c>topic</c> applies: Cilium's <c>isTopicAPIKey</c>
    /// (0-6, 8, 9, 19-21, 23, 24, 27, 28, 34, 35, 37) plus the topic-naming APIs Cilium's parser never decoded
    /// (DescribeConfigs 32, AlterConfigs 33, ElectLeaders 43, IncrementalAlterConfigs 44, OffsetDelete 47,
    /// DescribeProducers 61, DescribeTopicPartitions 75). Without them a rule scoped to one topic allowed those APIs on
    /// every topic; with them it allows them only on its topic. Rules without a topic are unaffected.
    /// </summary>
    public static bool IsTopicApiKey(short apiKey) => apiKey switch
    {
        0 or 1 or 2 or 3 or 4 or 5 or 6 or 8 or 9 or 19 or 20 or 21 or 23 or 24 or 27 or 28 or 34 or 35 or 37 => true,
        32 or 33 or 43 or 44 or 47 or 61 or 75 => true,
        _ => false,
    };
}
