using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;
using Membrane.Proxy.Kafka;

namespace Membrane.Benchmarks.Kafka;

/// <summary>
/// Parsing and policy evaluation of the requests real clients send most (Produce v9 with a 16 KiB batch, Fetch v12 with
/// three partitions, Metadata v12 with three topics), contiguous and split across 4 KiB segments as a socket pipe
/// delivers them. Baseline: finding the frame only (what a byte relay must do at least). Expect 0 B allocated.
/// </summary>
[MemoryDiagnoser]
public class KafkaCodecBenchmarks
{
    private readonly KafkaRequest _request = new();
    private ReadOnlySequence<byte> _produce;
    private ReadOnlySequence<byte> _produceSegmented;
    private ReadOnlySequence<byte> _fetch;
    private ReadOnlySequence<byte> _metadata;
    private KafkaRuleSet _rules = null!;

    [GlobalSetup]
    public void Setup()
    {
        _produce = new ReadOnlySequence<byte>(Frames.Produce("orders", 16 * 1024));
        _produceSegmented = Frames.Segmented(Frames.Produce("orders", 16 * 1024), 4096);
        _fetch = new ReadOnlySequence<byte>(Frames.Fetch("orders", 3));
        _metadata = new ReadOnlySequence<byte>(Frames.Metadata("orders", "payments", "audit"));
        var origin = new PolicyRef("CiliumNetworkPolicy", "kafka", "bench");
        _rules = KafkaRuleSet.Compile(
        [
            (new KafkaRule(Role: "produce", Topic: "audit"), origin),
            (new KafkaRule(Role: "produce", Topic: "orders"), origin),
            (new KafkaRule(Role: "consume", Topic: "orders"), origin),
        ]);
    }

    [Benchmark(Baseline = true)]
    public int FrameOnlyProduce() =>
        KafkaRequestParser.TryFrame(_produce, KafkaRequestParser.DefaultMaxFrameSize, out _, out var length, out _) == KafkaParseStatus.Complete ? length : -1;

    [Benchmark]
    public bool ParseAndEvaluateProduce() => ParseAndEvaluate(_produce);

    [Benchmark]
    public bool ParseAndEvaluateProduceSegmented() => ParseAndEvaluate(_produceSegmented);

    [Benchmark]
    public bool ParseAndEvaluateFetch() => ParseAndEvaluate(_fetch);

    [Benchmark]
    public bool ParseAndEvaluateMetadata() => ParseAndEvaluate(_metadata);

    private bool ParseAndEvaluate(in ReadOnlySequence<byte> frame)
    {
        KafkaRequestParser.Parse(frame, _request, KafkaRequestParser.DefaultMaxFrameSize, out _, out _);
        var topics = _request.EvaluatedTopics;
        return _rules.Evaluate(_request.ApiKey, _request.ApiVersion, _request.ClientIdBytes, ref topics).Allowed;
    }
}

/// <summary>Request frames for benchmarks, written with the proxy's own writer.</summary>
internal static class Frames
{
    public static byte[] Produce(string topic, int recordBytes, int correlationId = 1)
    {
        var w = Header(0, 9, correlationId);
        w.NullString(true);
        w.Int16(-1);
        w.Int32(30000);
        w.ArrayLength(true, 1);
        w.String(true, Encoding.UTF8.GetBytes(topic));
        w.ArrayLength(true, 1);
        w.Int32(0);
        w.Bytes(true, new byte[recordBytes]);
        w.Tags(true);
        w.Tags(true);
        w.Tags(true);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    public static byte[] Fetch(string topic, int partitions, int correlationId = 1)
    {
        var w = Header(1, 12, correlationId);
        w.Int32(-1);
        w.Int32(500);
        w.Int32(1);
        w.Int32(1 << 20);
        w.Int8(0);
        w.Int32(0);
        w.Int32(-1);
        w.ArrayLength(true, 1);
        w.String(true, Encoding.UTF8.GetBytes(topic));
        w.ArrayLength(true, partitions);
        for (var p = 0; p < partitions; p++)
        {
            w.Int32(p);
            w.Int32(-1);
            w.Int64(100);
            w.Int32(-1);
            w.Int64(-1);
            w.Int32(1 << 20);
            w.Tags(true);
        }

        w.Tags(true);
        w.ArrayLength(true, 0);
        w.String(true, default);
        w.Tags(true);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    public static byte[] Metadata(params string[] topics)
    {
        var w = Header(3, 12, 1);
        w.ArrayLength(true, topics.Length);
        foreach (var t in topics)
        {
            w.Uuid(Guid.Empty);
            w.String(true, Encoding.UTF8.GetBytes(t));
            w.Tags(true);
        }

        w.Bool(false);
        w.Bool(false);
        w.Tags(true);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    public static ReadOnlySequence<byte> Segmented(byte[] data, int segmentSize)
    {
        Segment? first = null, last = null;
        for (var start = 0; start < data.Length; start += segmentSize)
        {
            var s = new Segment(data.AsMemory(start, Math.Min(segmentSize, data.Length - start)), last);
            first ??= s;
            last = s;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private static KafkaWriter Header(short key, short version, int correlationId)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(key);
        w.Int16(version);
        w.Int32(correlationId);
        w.String(false, "bench-client"u8);
        w.Tags(true);
        return w;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
