using System.Buffers;
using System.Net;
using Membrane.Proxy.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>Malformed input never throws: random mutations of valid frames through the parser, the denial writer and
/// every response rewriter (the same work as the SharpFuzz target <c>kafka-request</c>, whose seeds are checked here).</summary>
public sealed class KafkaRobustnessTests
{
    private static readonly TopicSpec[] Topics = [new("orders", 0, 1), new("payments", 2)];

    private readonly struct AllowEven : IKafkaTopicFilter
    {
        public bool IsAllowed(ReadOnlySpan<byte> topic) => topic.Length % 2 == 0;
    }

    private static void Exercise(byte[] frame, KafkaRequest q, KafkaWriter w, KafkaByteArena scratch)
    {
        var sequence = new ReadOnlySequence<byte>(frame);
        if (KafkaRequestParser.Parse(sequence, q, 1 << 20, out var length, out _) == KafkaParseStatus.Complete)
        {
            w.Clear();
            KafkaDenials.TryWrite(q, w);
            if (q.ApiKey == KafkaApis.Metadata)
            {
                w.Clear();
                KafkaResponseRewriter.RewriteMetadataRequest(sequence.Slice(4, length - 4), q, new bool[q.TopicCount], w);
            }
        }

        if (frame.Length < 4)
        {
            return;
        }

        var payload = sequence.Slice(4);
        for (short v = 0; v <= 13; v++)
        {
            w.Clear();
            KafkaResponseRewriter.RewriteApiVersions(payload, v, w);
            w.Clear();
            KafkaResponseRewriter.RewriteMetadata(payload, v, default(AllowEven), 0, default, new IPEndPoint(IPAddress.Loopback, 1), scratch, w);
            w.Clear();
            KafkaResponseRewriter.RewriteFindCoordinator(payload, v, new IPEndPoint(IPAddress.Loopback, 1), w);
        }
    }

    [Fact]
    public void RandomMutationsOfEveryApiAndVersionNeverThrow()
    {
        var random = new Random(20261126);
        var q = new KafkaRequest();
        var w = new KafkaWriter();
        var scratch = new KafkaByteArena();
        foreach (var (key, v) in KafkaRequestBuilder.ParsedApiVersions())
        {
            var frame = KafkaRequestBuilder.Build(key, v, Topics);
            Exercise(frame, q, w, scratch);
            for (var i = 0; i < 60; i++)
            {
                var mutated = (byte[])frame.Clone();
                switch (random.Next(4))
                {
                    case 0:
                        mutated[4 + random.Next(mutated.Length - 4)] = (byte)random.Next(256);
                        break;
                    case 1:
                        mutated[4 + random.Next(mutated.Length - 4)] ^= (byte)(1 << random.Next(8));
                        break;
                    case 2:
                        mutated = mutated[..random.Next(4, mutated.Length)];
                        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(mutated, mutated.Length - 4);
                        break;
                    default:
                        mutated[4 + random.Next(mutated.Length - 4)] = 0xFF;
                        mutated[4 + random.Next(mutated.Length - 4)] = 0x7F;
                        break;
                }

                Exercise(mutated, q, w, scratch);
            }
        }
    }

    [Fact]
    public void FuzzSeedCorpusHoldsOnePayloadPerApiAndVersion()
    {
        var dir = CorpusDirectory();
        var write = Environment.GetEnvironmentVariable("MEMBRANE_WRITE_FUZZ_SEEDS") == "1";
        foreach (var (key, v) in KafkaRequestBuilder.ParsedApiVersions())
        {
            var payload = KafkaRequestBuilder.Build(key, v, Topics)[4..];
            var path = Path.Combine(dir, $"{KafkaApis.NameOf(key)}-v{v}.bin");
            if (write)
            {
                File.WriteAllBytes(path, payload);
            }

            Assert.True(File.Exists(path), $"missing seed {path} (run with MEMBRANE_WRITE_FUZZ_SEEDS=1)");
            Assert.Equal(payload, File.ReadAllBytes(path));
        }
    }

    private static string CorpusDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Membrane.Fuzz");
            if (Directory.Exists(candidate))
            {
                var corpus = Path.Combine(candidate, "corpus", "kafka-request");
                Directory.CreateDirectory(corpus);
                return corpus;
            }
        }

        throw new DirectoryNotFoundException("tests/Membrane.Fuzz not found");
    }
}
