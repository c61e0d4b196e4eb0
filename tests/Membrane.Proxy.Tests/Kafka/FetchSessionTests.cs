using System.Buffers;
using Membrane.Proxy.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// KIP-227 fetch sessions against a scripted broker that hands out session ids (librdkafka's mock does not): an
/// incremental fetch is forwarded only for a session whose full fetch was allowed on this connection under the current
/// policy revision.
/// </summary>
public sealed class FetchSessionTests
{
    private const int SessionId = 99;

    private static byte[] Fetch(int correlationId, int sessionId, int epoch, params TopicSpec[] topics) => Fetch(correlationId, sessionId, epoch, topics, []);

    private static byte[] Fetch(int correlationId, int sessionId, int epoch, TopicSpec[] topics, TopicSpec[] forgotten)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(KafkaApis.Fetch);
        w.Int16(7);
        w.Int32(correlationId);
        w.String(false, "java-like"u8);
        w.Int32(-1);
        w.Int32(500);
        w.Int32(1);
        w.Int32(1 << 20);
        w.Int8(0);
        w.Int32(sessionId);
        w.Int32(epoch);
        w.Int32(topics.Length);
        foreach (var t in topics)
        {
            w.String(false, System.Text.Encoding.UTF8.GetBytes(t.Name));
            w.Int32(t.Partitions.Length);
            foreach (var p in t.Partitions)
            {
                w.Int32(p);
                w.Int64(0);
                w.Int64(-1);
                w.Int32(1 << 20);
            }
        }

        w.Int32(forgotten.Length);
        foreach (var t in forgotten)
        {
            w.String(false, System.Text.Encoding.UTF8.GetBytes(t.Name));
            w.Int32(t.Partitions.Length);
            foreach (var p in t.Partitions)
            {
                w.Int32(p);
            }
        }

        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Fetch v7 response: throttle, error 0, session id, no topics.</summary>
    private static byte[] FetchResponse(int correlationId)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int32(correlationId);
        w.Int32(0);
        w.Int16(0);
        w.Int32(SessionId);
        w.Int32(0);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public async Task IncrementalFetchesNeedASessionAllowedUnderTheCurrentRevision()
    {
        await using var h = await ScriptedKafkaHarness.StartAsync(q => FetchResponse(q.CorrelationId));
        var errors = new List<short>();

        async Task<short> RoundTrip(byte[] request)
        {
            var response = await h.RoundTripAsync(request);
            return System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(12)); // size, correlation id, throttle
        }

        errors.Add(await RoundTrip(Fetch(1, 0, 0, new TopicSpec("orders", 0)))); // full fetch, creates the session
        errors.Add(await RoundTrip(Fetch(2, SessionId, 1))); // incremental, nothing changed: forwarded
        errors.Add(await RoundTrip(Fetch(3, 12345, 1))); // someone else's session: reset
        h.Policy.Set(ProduceConsume("orders", "audit"));
        errors.Add(await RoundTrip(Fetch(4, SessionId, 2))); // policy moved: reset
        errors.Add(await RoundTrip(Fetch(5, 0, 0, new TopicSpec("orders", 0)))); // full fetch again
        errors.Add(await RoundTrip(Fetch(6, SessionId, 1))); // forwarded

        Assert.Equal([0, 0, KafkaErrors.FetchSessionIdNotFound, KafkaErrors.FetchSessionIdNotFound, 0, 0], errors);
        Assert.Equal(4, h.BrokerRequests);
    }

    /// <summary>
    /// KIP-227 with a denied topic: the broker's session only ever holds what was forwarded, i.e. allowed partitions.
    /// A full fetch naming a denied partition creates a session without it (the client's view still lists it, with
    /// error 29); incremental fetches have denied partitions removed the same way, and forgotten topics pass (removing
    /// a partition from a session cannot expose data). So no request the broker sees names a denied partition, and the
    /// session cannot serve one.
    /// </summary>
    [Fact]
    public async Task FetchSessionsOnlyEverHoldAllowedPartitions()
    {
        await using var h = await ScriptedKafkaHarness.StartAsync(q => FetchResponse(q.CorrelationId));
        var secrets = new TopicSpec("secrets", 0);
        var orders = new TopicSpec("orders", 0);

        // Full fetch creating a session: secrets removed, answered 29 in the broker's answer, session id kept.
        var full = await h.RoundTripAsync(Fetch(1, 0, 0, secrets, orders));
        Assert.Equal([("secrets", 0, KafkaErrors.TopicAuthorizationFailed)], KafkaResponseSchemas.Decode(full[4..], KafkaApis.Fetch, 7));
        Assert.Equal(SessionId, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(full.AsSpan(4 + 4 + 4 + 2)));
        Assert.Equal(["orders"], LastForwardedTopics(h, out var epoch, out _));
        Assert.Equal(0, epoch);

        // Incremental fetch of the same session naming both: forwarded (the session was learned from the split fetch).
        var incremental = await h.RoundTripAsync(Fetch(2, SessionId, 1, secrets, orders));
        Assert.Equal([("secrets", 0, KafkaErrors.TopicAuthorizationFailed)], KafkaResponseSchemas.Decode(incremental[4..], KafkaApis.Fetch, 7));
        Assert.Equal(["orders"], LastForwardedTopics(h, out epoch, out _));
        Assert.Equal(1, epoch);

        // Forgetting the denied topic is forwarded untouched.
        await h.RoundTripAsync(Fetch(3, SessionId, 2, [orders], [secrets]));
        Assert.Equal(["orders"], LastForwardedTopics(h, out _, out var forgotten));
        Assert.Equal(["secrets"], forgotten);

        // An incremental fetch naming only denied partitions is answered by the proxy with session id 0 (the client
        // drops the session and starts a full fetch, evaluated again); the broker never sees it.
        var before = h.BrokerRequests;
        var local = await h.RoundTripAsync(Fetch(4, SessionId, 3, secrets));
        Assert.Equal([("secrets", 0, KafkaErrors.TopicAuthorizationFailed)], KafkaResponseSchemas.Decode(local[4..], KafkaApis.Fetch, 7));
        Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(local.AsSpan(4 + 4 + 4 + 2)));
        Assert.Equal(before, h.BrokerRequests);

        Assert.DoesNotContain(h.Received, frame => LastTopicsOf(frame, out _, out _).Contains("secrets"));
        Assert.Contains(h.Events.Events, e => e.Kind == L7EventKind.KafkaRequest && e.KafkaCorrelationId == 2 && e.Verdict == L7Verdict.Forwarded
            && e.KafkaDeniedTopics is ["secrets"]);
    }

    private static string[] LastForwardedTopics(ScriptedKafkaHarness h, out int epoch, out string[] forgotten) =>
        LastTopicsOf(h.Received.Last(), out epoch, out forgotten);

    private static string[] LastTopicsOf(byte[] frame, out int epoch, out string[] forgotten)
    {
        var q = new KafkaRequest();
        Assert.Equal(KafkaParseStatus.Complete, KafkaRequestParser.Parse(new ReadOnlySequence<byte>(frame), q, 1 << 20, out _, out _));
        epoch = q.FetchSessionEpoch;
        var names = Enumerable.Range(0, q.TopicCount).Select(i => System.Text.Encoding.UTF8.GetString(q.NameOf(q.TopicAt(i)))).ToArray();
        forgotten = names[q.EvaluatedTopicCount..];
        return names[..q.EvaluatedTopicCount];
    }

    [Fact]
    public async Task AMixedProduceWithAcksZeroForwardsTheAllowedPartAndAnswersNothing()
    {
        // librdkafka's mock answers acks=0 produce requests, which a broker never does; this broker does not.
        await using var h = await ScriptedKafkaHarness.StartAsync(q => q.ApiKey == KafkaApis.Produce ? null : ApiVersionsResponse(q.CorrelationId));
        var produce = KafkaRequestBuilder.Build(KafkaApis.Produce, 9, [new TopicSpec("secrets", 0), new TopicSpec("orders", 0, 1)], correlationId: 1, acks: 0);
        var answer = await h.RoundTripAsync([.. produce, .. KafkaRequestBuilder.Build(KafkaApis.ApiVersions, 0, [], correlationId: 2)]);
        Assert.Equal(2, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(answer.AsSpan(4)));
        Assert.Equal(KafkaRequestBuilder.Build(KafkaApis.Produce, 9, [new TopicSpec("orders", 0, 1)], correlationId: 1, acks: 0), h.Received.First());
        var request = h.Events.Events.Single(e => e.Kind == L7EventKind.KafkaRequest && e.KafkaApiKey == KafkaApis.Produce);
        Assert.Equal(L7Verdict.Forwarded, request.Verdict);
        Assert.Equal(["secrets"], request.KafkaDeniedTopics);
        Assert.Contains("acks=0", request.Detail);
        Assert.DoesNotContain(h.Events.Events, e => e.Kind == L7EventKind.KafkaResponse && e.KafkaApiKey == KafkaApis.Produce);
    }

    private static byte[] ApiVersionsResponse(int correlationId)
    {
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int32(correlationId);
        w.Int16(0);
        w.Int32(0);
        w.EndFrame();
        return w.WrittenSpan.ToArray();
    }
}
