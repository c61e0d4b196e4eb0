using Membrane.Policy.L7.Kafka;

namespace Membrane.Proxy.Kafka;

/// <summary>Outcome of parsing one frame.</summary>
internal enum KafkaParseStatus
{
    /// <summary>The buffer does not hold a whole frame yet; nothing was consumed.</summary>
    NeedMoreData,

    /// <summary>One frame was parsed.</summary>
    Complete,

    /// <summary>The frame is malformed, too large, or not something the proxy lets through.</summary>
    Rejected,
}

/// <summary>Why a frame was rejected.</summary>
internal enum KafkaRejectReason
{
    /// <summary>Not rejected.</summary>
    None,

    /// <summary>The size prefix exceeds the configured limit (brokers: <c>socket.request.max.bytes</c>).</summary>
    FrameTooLarge,

    /// <summary>The size prefix is negative or smaller than a request header.</summary>
    FrameTooSmall,

    /// <summary>An API key the proxy does not let through.</summary>
    UnknownApiKey,

    /// <summary>A version outside what the proxy advertises (a client ignoring ApiVersions must not bypass the cap).</summary>
    UnsupportedVersion,

    /// <summary>A field is malformed or runs past the end of the frame.</summary>
    Malformed,

    /// <summary>Bytes left inside the frame after the last field.</summary>
    TrailingBytes,
}

/// <summary>A topic named by a request, with the partitions it names (for echoing them in a denial).</summary>
internal struct KafkaTopicEntry
{
    public ByteRange Name;
    public bool NameIsNull;
    public Guid TopicId;
    public ByteRange Partitions;

    /// <summary>Index into <see cref="KafkaRequest.Groups"/> (OffsetFetch v8+), or -1.</summary>
    public int Group;

    /// <summary>Offsets of the whole array element in the frame payload (Metadata request rewriting).</summary>
    public int ElementStart;
    public int ElementEnd;
}

/// <summary>A config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs).</summary>
internal struct KafkaResourceEntry
{
    public sbyte Type;
    public ByteRange Name;
}

/// <summary>
/// What a request says, as far as policy and denial need it. One instance per connection, cleared and refilled for
/// every request, so steady-state parsing allocates nothing.
/// </summary>
internal sealed class KafkaRequest
{
    private KafkaTopicEntry[] _topics = new KafkaTopicEntry[8];
    private KafkaResourceEntry[] _resources = new KafkaResourceEntry[4];
    private ByteRange[] _groups = new ByteRange[4];

    public KafkaByteArena Bytes { get; } = new();

    public KafkaIntArena Ints { get; } = new();

    public short ApiKey;
    public short ApiVersion;
    public int CorrelationId;
    public ByteRange ClientId;
    public bool ClientIdIsNull;
    public bool Flexible;

    /// <summary>Offset of the body in the frame payload (after the request header).</summary>
    public int BodyStart;

    /// <summary>Length of the frame payload (excluding the 4-byte size).</summary>
    public int PayloadLength;

    /// <summary>Produce acks (0 = no response is sent).</summary>
    public short Acks;

    /// <summary>Produce v3+ and InitProducerId: a transactional id is present.</summary>
    public bool HasTransactionalId;

    /// <summary>Metadata null (v1+) or empty (v0) topics, OffsetFetch / DescribeLogDirs / ElectLeaders null topics.</summary>
    public bool AllTopics;

    /// <summary>Metadata v4+ flag (earlier versions: the broker's auto.create.topics.enable decides).</summary>
    public bool AllowAutoTopicCreation;

    /// <summary>Offsets of the topics array in the payload (Metadata request rewriting).</summary>
    public int TopicArrayStart;
    public int TopicArrayEnd;

    /// <summary>FindCoordinator key type (0 group, 1 transaction).</summary>
    public sbyte CoordinatorKeyType;

    /// <summary>Fetch v7+ session epoch (0 = new session, -1 = no session, &gt;0 = incremental).</summary>
    public int FetchSessionEpoch = -1;

    /// <summary>Fetch v7+ session id.</summary>
    public int FetchSessionId;

    /// <summary>Topics evaluated against policy.</summary>
    public int TopicCount;

    /// <summary>Topics named only inside embedded consumer-protocol bytes (JoinGroup) or forgotten by a fetch
    /// session: reported in events, not evaluated.</summary>
    public int InformationalTopicStart = -1;

    public int ResourceCount;

    /// <summary>Group ids (OffsetFetch v8+) or coordinator keys (FindCoordinator).</summary>
    public int GroupCount;

    public ReadOnlySpan<KafkaTopicEntry> Topics => _topics.AsSpan(0, TopicCount);

    public ReadOnlySpan<KafkaResourceEntry> Resources => _resources.AsSpan(0, ResourceCount);

    public ReadOnlySpan<ByteRange> Groups => _groups.AsSpan(0, GroupCount);

    public void Clear()
    {
        Bytes.Clear();
        Ints.Clear();
        TopicCount = ResourceCount = GroupCount = 0;
        InformationalTopicStart = -1;
        ClientId = default;
        ClientIdIsNull = false;
        Acks = -1;
        HasTransactionalId = AllTopics = false;
        AllowAutoTopicCreation = true;
        TopicArrayStart = TopicArrayEnd = 0;
        CoordinatorKeyType = 0;
        FetchSessionEpoch = -1;
        FetchSessionId = 0;
    }

    public ReadOnlySpan<byte> ClientIdBytes => Bytes[ClientId];

    public ReadOnlySpan<byte> NameOf(in KafkaTopicEntry t) => Bytes[t.Name];

    /// <summary>Topics that policy evaluates (excludes informational ones).</summary>
    public int EvaluatedTopicCount => InformationalTopicStart < 0 ? TopicCount : InformationalTopicStart;

    public ref KafkaTopicEntry AddTopic(ByteRange name, int group = -1)
    {
        if (TopicCount == _topics.Length)
        {
            Array.Resize(ref _topics, _topics.Length * 2);
        }

        ref var t = ref _topics[TopicCount++];
        t = new KafkaTopicEntry { Name = name, Group = group };
        return ref t;
    }

    public ref KafkaTopicEntry TopicAt(int index) => ref _topics[index];

    public void AddResource(sbyte type, ByteRange name)
    {
        if (ResourceCount == _resources.Length)
        {
            Array.Resize(ref _resources, _resources.Length * 2);
        }

        _resources[ResourceCount++] = new KafkaResourceEntry { Type = type, Name = name };
    }

    public int AddGroup(ByteRange name)
    {
        if (GroupCount == _groups.Length)
        {
            Array.Resize(ref _groups, _groups.Length * 2);
        }

        _groups[GroupCount] = name;
        return GroupCount++;
    }

    /// <summary>The evaluated topics as the policy layer's topic list (no copies).</summary>
    public TopicView EvaluatedTopics => new(this);

    /// <summary>Adapter from a request to <see cref="IKafkaTopicList"/>.</summary>
    internal readonly ref struct TopicView(KafkaRequest request) : IKafkaTopicList
    {
        public int Count => request.EvaluatedTopicCount;

        public ReadOnlySpan<byte> this[int index] => request.Bytes[request._topics[index].Name];
    }
}
