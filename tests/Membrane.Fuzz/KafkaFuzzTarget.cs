using System.Buffers;
using System.Buffers.Binary;
using Membrane.Proxy.Kafka;

namespace Membrane.Fuzz;

/// <summary>
/// Kafka codec: the input is one request payload (header + body, no size prefix). It is parsed as a request; when it
/// parses, the denial for it is synthesized; the same bytes are also fed to every response rewriter as a response
/// payload. None of this may throw or hang. Seeds: <c>corpus/kafka-request/</c> (one payload per API and version).
/// </summary>
public sealed class KafkaFuzzTarget : IFuzzTarget
{
    private readonly KafkaRequest _request = new();
    private readonly KafkaWriter _writer = new();
    private readonly KafkaByteArena _scratch = new();

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
        }

        var payload = new ReadOnlySequence<byte>(frame, 4, input.Length);
        var version = input.Length > 0 ? (short)(input[0] % 14) : (short)0;
        _writer.Clear();
        KafkaResponseRewriter.RewriteApiVersions(payload, (short)(version % 5), _writer);
        _writer.Clear();
        KafkaResponseRewriter.RewriteMetadata(payload, version, default(DenyOdd), 0, default, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9092), _scratch, _writer);
        _writer.Clear();
        KafkaResponseRewriter.RewriteFindCoordinator(payload, (short)(version % 7), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9092), _writer);
    }

    private readonly struct DenyOdd : IKafkaTopicFilter
    {
        public bool IsAllowed(ReadOnlySpan<byte> topic) => topic.Length % 2 == 0;
    }
}
