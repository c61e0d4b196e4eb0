using System.Buffers;
using System.Buffers.Binary;
using Membrane.Proxy.Kafka;

namespace Membrane.Fuzz;

/// <summary>
/// Kafka codec: the input is one request payload (header + body, no size prefix). It is parsed as a request; when it
/// parses, the denial for it is synthesized and, when it names several topics, it is split (every other topic denied) and
/// the forwarded request parsed back; the same bytes are also fed to every response rewriter as a response
/// payload and to the split-response splicer. None of this may throw or hang. Seeds: <c>corpus/kafka-request/</c> (one payload per API and version).
/// </summary>
public sealed class KafkaFuzzTarget : IFuzzTarget
{
    private readonly KafkaRequest _request = new();
    private readonly KafkaWriter _writer = new();
    private readonly KafkaByteArena _scratch = new();
    private readonly KafkaRequest _forwarded = new();
    private readonly KafkaWriter _denied = new();

    /// <inheritdoc/>
    public string Name => "kafka-request";

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        var frame = new byte[input.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(frame, input.Length);
        input.CopyTo(frame.AsSpan(4));
        var sequence = new ReadOnlySequence<byte>(frame);
        var status = KafkaRequestParser.Parse(sequence, _request, 1 << 20, out _, out _);
        if (status == KafkaParseStatus.Complete)
        {
            _writer.Clear();
            KafkaDenials.TryWrite(_request, _writer);
            if (_request.ApiKey == KafkaApis.Metadata)
            {
                Span<bool> allowed = stackalloc bool[Math.Min(_request.TopicCount, 256)];
                if (_request.TopicCount <= 256)
                {
                    _writer.Clear();
                    KafkaResponseRewriter.RewriteMetadataRequest(sequence.Slice(4), _request, allowed, _writer);
                }
            }

            Split(sequence);
        }

        SplitResponse(sequence, input.Length > 1 ? input[1] : (byte)0, input.Length > 2 ? input[2] : (byte)0);

        var payload = new ReadOnlySequence<byte>(frame, 4, input.Length);
        var version = input.Length > 0 ? (short)(input[0] % 14) : (short)0;
        _writer.Clear();
        KafkaResponseRewriter.RewriteApiVersions(payload, (short)(version % 5), _writer);
        _writer.Clear();
        KafkaResponseRewriter.RewriteMetadata(payload, version, default(DenyOdd), 0, default, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9092), _scratch, _writer);
        _writer.Clear();
        KafkaResponseRewriter.RewriteFindCoordinator(payload, (short)(version % 7), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9092), _writer);
    }

    /// <summary>A request naming allowed and denied topics (every other one denied): the forwarded request must parse
    /// again to the allowed topics; the denied entries and AddPartitionsToTxn's 29/55 answer must be writable.</summary>
    private void Split(in ReadOnlySequence<byte> frame)
    {
        var n = _request.EvaluatedTopicCount;
        var transactional = _request.ApiKey == KafkaApis.AddPartitionsToTxn;
        if (n < 2 || n > 256 || (!transactional && !KafkaSplit.CanSplit(_request)))
        {
            return;
        }

        Span<bool> allowed = stackalloc bool[n];
        for (var i = 0; i < n; i++)
        {
            allowed[i] = i % 2 == 0;
        }

        _writer.Clear();
        if (transactional)
        {
            KafkaDenials.TryWrite(_request, _writer, allowed);
            return;
        }

        var expected = (n + 1) / 2;
        var apiKey = _request.ApiKey;
        KafkaSplit.WriteRequest(frame.Slice(4), _request, allowed, _writer);
        _denied.Clear();
        KafkaDenials.WriteDeniedTopics(_request, allowed, _denied);
        var forwarded = new ReadOnlySequence<byte>(_writer.WrittenSpan.ToArray());
        if (KafkaRequestParser.Parse(forwarded, _forwarded, 1 << 21, out var length, out _) != KafkaParseStatus.Complete
            || length != forwarded.Length || _forwarded.ApiKey != apiKey || _forwarded.EvaluatedTopicCount != expected)
        {
            throw new InvalidOperationException("a split request does not parse back to its allowed topics");
        }
    }

    /// <summary>The input (with its size prefix) as the broker's answer to a split request of a chosen API and version.</summary>
    private void SplitResponse(in ReadOnlySequence<byte> frame, byte apiChoice, byte versionChoice)
    {
        ReadOnlySpan<short> apis = [KafkaApis.Produce, KafkaApis.Fetch, KafkaApis.ListOffsets, KafkaApis.OffsetCommit, KafkaApis.OffsetFetch,
            KafkaApis.OffsetForLeaderEpoch, KafkaApis.DeleteRecords, KafkaApis.TxnOffsetCommit];
        var apiKey = apis[apiChoice % apis.Length];
        KafkaApis.TryGet(apiKey, out var api);
        var version = (short)(versionChoice % (api.MaxVersion + 1));
        if (KafkaSplit.TryReadResponsePrefix(frame, apiKey, version, out var countOffset, out var prefixLength, out var count) == KafkaParseStatus.Complete)
        {
            _writer.Clear();
            KafkaSplit.WriteResponsePrefix(frame, KafkaSplit.IsFlexible(apiKey, version), countOffset, prefixLength, count, 1, "x"u8, _writer);
        }
    }

    private readonly struct DenyOdd : IKafkaTopicFilter
    {
        public bool IsAllowed(ReadOnlySpan<byte> topic) => topic.Length % 2 == 0;
    }
}
