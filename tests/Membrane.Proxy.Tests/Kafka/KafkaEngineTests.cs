using System.Buffers.Binary;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;
using Membrane.Proxy.Kafka;
using Membrane.Workloads.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>The engine's connection semantics with exact frames against the mock cluster.</summary>
public sealed class KafkaEngineTests
{
    private static byte[] ApiVersions(int correlationId, short v = 0) => KafkaRequestBuilder.Build(KafkaApis.ApiVersions, v, [], correlationId: correlationId);

    private static byte[] Produce(string topic, int correlationId, short acks = -1) =>
        KafkaRequestBuilder.Build(KafkaApis.Produce, 7, [new TopicSpec(topic, 0)], correlationId: correlationId, acks: acks);

    private static short TopLevelError(byte[] payload, int offset) => BinaryPrimitives.ReadInt16BigEndian(payload.AsSpan(offset));

    [Fact]
    public async Task DenialsAreAnsweredInRequestOrderBehindInFlightResponses()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        // One write: forwarded, denied, forwarded, denied. The denials are made locally at once; they must still come
        // back in request order (the Java client pops the oldest in-flight request for every response).
        await client.SendAsync(ApiVersions(1), Produce("secrets", 2), ApiVersions(3), Produce("secrets", 4));
        var order = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            order.Add(RawKafkaClient.CorrelationId((await client.ReceiveAsync())!));
        }

        Assert.Equal([1, 2, 3, 4], order);
    }

    [Fact]
    public async Task DeniedProduceWithAcksZeroIsNeverAnswered()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        mock.StartRequestTracking();

        await client.SendAsync(Produce("secrets", 1, acks: 0), ApiVersions(2));
        Assert.Equal(2, RawKafkaClient.CorrelationId((await client.ReceiveAsync())!));
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Produce), e => e.Verdict == L7Verdict.Denied && e.Detail!.Contains("acks=0"));
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.KafkaResponse && e.KafkaApiKey == KafkaApis.Produce);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(12)]
    [InlineData(13)]
    public async Task AllTopicsMetadataOmitsDeniedTopics(short v)
    {
        using var mock = KafkaMockCluster.Start();
        var allowed = UniqueTopic("orders");
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(allowed);
        mock.CreateTopic(denied);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(allowed));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Metadata, v, [], allTopics: true));
        var (brokers, topics) = ResponseDecoder.Metadata((await client.ReceiveAsync())!, v);
        Assert.Equal([allowed], topics.Select(t => t.Name));
        Assert.All(brokers, b => Assert.Equal(proxy.EndPoint.Port, b.Port));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(13)]
    public async Task NamedMetadataAnswersDeniedTopicsWithErrorTwentyNineAndNeverAsksTheBroker(short v)
    {
        using var mock = KafkaMockCluster.Start();
        var allowed = UniqueTopic("orders");
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(allowed);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(allowed));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Metadata, v, [new(allowed), new(denied)]));
        var (_, topics) = ResponseDecoder.Metadata((await client.ReceiveAsync())!, v);
        Assert.Contains(new ResponseDecoder.Topic(0, allowed), topics);
        Assert.Contains(new ResponseDecoder.Topic(KafkaErrors.TopicAuthorizationFailed, denied), topics);

        // The denied name never reached the broker, so it was not auto-created there.
        using var direct = await RawKafkaClient.ConnectAsync(mock.BrokerEndPoints[0]);
        await direct.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Metadata, 4, [], allTopics: true));
        var (_, all) = ResponseDecoder.Metadata((await direct.ReceiveAsync())!, 4);
        Assert.DoesNotContain(all, t => t.Name == denied);

        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Metadata, v, [new(denied)], correlationId: 7));
        var (_, only) = ResponseDecoder.Metadata((await client.ReceiveAsync())!, v);
        Assert.Equal([new ResponseDecoder.Topic(KafkaErrors.TopicAuthorizationFailed, denied)], only);
    }

    [Fact]
    public async Task TransparentModeLeavesBrokerAddressesAlone()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"), advertise: false);
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Metadata, 9, [], allTopics: true));
        var (brokers, _) = ResponseDecoder.Metadata((await client.ReceiveAsync())!, 9);
        Assert.Equal(mock.BrokerEndPoints[0].Port, Assert.Single(brokers).Port);
    }

    [Fact]
    public async Task FindCoordinatorPointsAtTheProxyInExplicitMode()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.FindCoordinator, 2, [], ["g1"]));
        var payload = (await client.ReceiveAsync())!;

        // v2: correlation id, throttle, error, error message (nullable), node id, host, port.
        var offset = 4 + 4;
        Assert.Equal(0, TopLevelError(payload, offset));
        offset += 2;
        var messageLength = BinaryPrimitives.ReadInt16BigEndian(payload.AsSpan(offset));
        offset += 2 + Math.Max(0, (int)messageLength) + 4;
        var hostLength = BinaryPrimitives.ReadInt16BigEndian(payload.AsSpan(offset));
        offset += 2 + hostLength;
        Assert.Equal(proxy.EndPoint.Port, BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(offset)));
    }

    [Fact]
    public async Task ApiVersionsAreCappedWhereTopicIdsReplaceNamesAndUnknownApisDisappear()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], null);
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(ApiVersions(1));
        var (error, apis) = ResponseDecoder.ApiVersions((await client.ReceiveAsync())!, 0);
        Assert.Equal(0, error);
        Assert.Equal((short)0, apis[KafkaApis.Produce].Min);
        Assert.Equal((short)10, apis[KafkaApis.Produce].Max);
        Assert.Equal((short)12, apis[KafkaApis.Fetch].Max);
        Assert.Equal((short)13, apis[KafkaApis.Metadata].Max);
        Assert.True(apis[KafkaApis.OffsetCommit].Max <= 9);
        Assert.DoesNotContain((short)78, apis.Keys);
        Assert.DoesNotContain((short)79, apis.Keys);
        Assert.DoesNotContain((short)76, apis.Keys);
        Assert.All(apis.Keys, k => Assert.True(KafkaApis.TryGet(k, out _)));

        await client.SendAsync(ApiVersions(2, 5));
        var unsupported = (await client.ReceiveAsync())!;
        Assert.Equal(2, RawKafkaClient.CorrelationId(unsupported));
        var (error5, apis5) = ResponseDecoder.ApiVersions(unsupported, 0);
        Assert.Equal(KafkaErrors.UnsupportedVersion, error5);
        Assert.Equal((short)4, apis5[KafkaApis.ApiVersions].Max);
    }

    [Theory]
    [InlineData(KafkaApis.Fetch, 13)]
    [InlineData(KafkaApis.Produce, 13)]
    [InlineData((short)78, 1)]
    public async Task RequestsAboveTheCapCloseOnlyTheirConnection(short key, short v)
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], null);
        using var bystander = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        mock.StartRequestTracking();

        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(key);
        w.Int16(v);
        w.Int32(1);
        w.String(false, "bypass"u8);
        w.Raw(new byte[32]);
        w.EndFrame();
        await client.SendAsync(w.WrittenSpan.ToArray());
        Assert.Null(await client.ReceiveAsync());
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == key);
        Assert.Contains(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError && e.Verdict == L7Verdict.Error);

        await bystander.SendAsync(ApiVersions(5));
        Assert.Equal(5, RawKafkaClient.CorrelationId((await bystander.ReceiveAsync())!));
    }

    [Fact]
    public async Task MalformedRequestClosesTheConnectionWithAProtocolError()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], null);
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        var frame = Produce("orders", 1);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(frame.Length - 9), 1000); // record bytes length beyond the frame
        await client.SendAsync(frame);
        Assert.Null(await client.ReceiveAsync());
        var error = Assert.Single(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
        Assert.Contains("Malformed", error.Detail);
    }

    [Fact]
    public async Task APolicyChangeAppliesToTheNextRequestOnAnOpenConnection()
    {
        using var mock = KafkaMockCluster.Start();
        mock.CreateTopic("orders");
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        await client.SendAsync(Produce("orders", 1));
        await client.ReceiveAsync();
        proxy.Policy.Set(ProduceConsume("other"));
        await client.SendAsync(Produce("orders", 2));
        await client.ReceiveAsync();

        var produces = proxy.Events.Requests(KafkaApis.Produce).ToList();
        Assert.Equal([L7Verdict.Forwarded, L7Verdict.Denied], produces.Select(e => e.Verdict));
        Assert.True(produces[1].Policy!.Revision > produces[0].Policy!.Revision);
    }

    [Fact]
    public async Task EgressAndIngressMustBothAllow()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ingress: ProduceConsume("orders", "audit"), egress: ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(Produce("audit", 1));
        await client.ReceiveAsync();
        var denial = Assert.Single(proxy.Events.Requests(KafkaApis.Produce));
        Assert.Equal(L7Verdict.Denied, denial.Verdict);
        Assert.Equal(Membrane.Policy.Model.TrafficDirection.Egress, denial.DeniedDirection);

        proxy.Policy.Set(ingress: ProduceConsume("orders"), egress: ProduceConsume("orders", "audit"));
        await client.SendAsync(Produce("audit", 2));
        await client.ReceiveAsync();
        Assert.Equal(Membrane.Policy.Model.TrafficDirection.Ingress, proxy.Events.Requests(KafkaApis.Produce).Last().DeniedDirection);
    }

    [Fact]
    public async Task IncrementalFetchOfASessionNotSeenUnderThisPolicyIsReset()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        // Fetch v7, session 77, epoch 3, naming no partitions: the session may hold anything.
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(KafkaApis.Fetch);
        w.Int16(7);
        w.Int32(1);
        w.String(false, "c"u8);
        w.Int32(-1);
        w.Int32(500);
        w.Int32(1);
        w.Int32(1 << 20);
        w.Int8(0);
        w.Int32(77);
        w.Int32(3);
        w.Int32(0);
        w.Int32(0);
        w.EndFrame();
        await client.SendAsync(w.WrittenSpan.ToArray());
        var payload = (await client.ReceiveAsync())!;
        Assert.Equal(KafkaErrors.FetchSessionIdNotFound, TopLevelError(payload, 8));
    }

    [Fact]
    public async Task RequestEventsCarryTheDecidingPolicyAndTopics()
    {
        using var mock = KafkaMockCluster.Start();
        mock.CreateTopic("orders");
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(Produce("orders", 11), Produce("secrets", 12));
        await client.ReceiveAsync();
        await client.ReceiveAsync();

        var events = proxy.Events.Events.Where(e => e.KafkaApiKey == KafkaApis.Produce).ToList();
        var allowed = events.Single(e => e.Kind == L7EventKind.KafkaRequest && e.KafkaCorrelationId == 11);
        Assert.Equal(L7Verdict.Forwarded, allowed.Verdict);
        Assert.Equal(BrokerPolicy, allowed.DecidedBy);
        Assert.Equal(["orders"], allowed.KafkaTopics);
        Assert.Equal("membrane-test", allowed.KafkaClientId);
        Assert.Equal(7, allowed.KafkaApiVersion);
        var denied = events.Single(e => e.Kind == L7EventKind.KafkaResponse && e.KafkaCorrelationId == 12);
        Assert.Equal(L7Verdict.Denied, denied.Verdict);
        Assert.Equal(KafkaErrors.TopicAuthorizationFailed, denied.KafkaErrorCode);
        Assert.True(events.Single(e => e.Kind == L7EventKind.KafkaResponse && e.KafkaCorrelationId == 11).LatencyNs > 0);
    }

    [Theory]
    [InlineData(KafkaApis.Produce, 3)]
    [InlineData(KafkaApis.Produce, 7)]
    [InlineData(KafkaApis.Produce, 9)]
    [InlineData(KafkaApis.Fetch, 4)]
    [InlineData(KafkaApis.Fetch, 11)]
    [InlineData(KafkaApis.Fetch, 12)]
    [InlineData(KafkaApis.ListOffsets, 1)]
    [InlineData(KafkaApis.ListOffsets, 5)]
    [InlineData(KafkaApis.ListOffsets, 7)]
    [InlineData(KafkaApis.OffsetFetch, 1)]
    [InlineData(KafkaApis.OffsetFetch, 5)]
    [InlineData(KafkaApis.OffsetFetch, 6)]
    public async Task ARequestNamingAllowedAndDeniedTopicsReachesTheBrokerWithTheAllowedOnesAndAnswersEveryTopic(short key, short v)
    {
        using var mock = KafkaMockCluster.Start();
        var allowed = UniqueTopic("orders");
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(allowed, 2);
        mock.CreateTopic(denied, 2);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(allowed));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        mock.StartRequestTracking();

        await client.SendAsync(KafkaRequestBuilder.Build(key, v, [new TopicSpec(denied, 1), new TopicSpec(allowed, 0, 1)], correlationId: 3), ApiVersions(4));
        var answer = await client.ReceiveAsync();
        Assert.True(answer is { Length: >= 4 }, Convert.ToHexString(answer ?? []) + "\n" + proxy.Events.Dump());
        var payload = answer!;
        Assert.Equal(3, RawKafkaClient.CorrelationId(payload));
        Assert.Equal(4, RawKafkaClient.CorrelationId((await client.ReceiveAsync())!));

        // Denied topics first (spliced in front of the broker's array), then the broker's answer for the allowed ones.
        var seen = KafkaResponseSchemas.Decode(payload, key, v);
        Assert.Equal([(denied, 1, KafkaErrors.TopicAuthorizationFailed)], seen.Where(p => p.Topic == denied));
        Assert.Equal([(allowed, 0), (allowed, 1)], seen.Where(p => p.Topic == allowed).Select(p => (p.Topic, p.Partition)));
        Assert.DoesNotContain(seen, p => p.Topic == allowed && p.Error == KafkaErrors.TopicAuthorizationFailed);
        Assert.Contains(mock.Requests(), r => r.ApiKey == key);

        var request = proxy.Events.Requests(key).Single();
        Assert.Equal(L7Verdict.Forwarded, request.Verdict);
        Assert.Equal([denied, allowed], request.KafkaTopics);
        Assert.Equal([denied], request.KafkaDeniedTopics);
        Assert.Equal(KafkaErrors.TopicAuthorizationFailed, request.KafkaErrorCode);
        Assert.Equal(TrafficDirection.Ingress, request.DeniedDirection);
        Assert.Contains("1 of 2 topics denied", request.Detail);
        var response = proxy.Events.Events.Single(e => e.Kind == L7EventKind.KafkaResponse && e.KafkaCorrelationId == 3);
        Assert.Equal(KafkaErrors.TopicAuthorizationFailed, response.KafkaErrorCode);
        Assert.Equal([denied], response.KafkaDeniedTopics);
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }

    [Fact]
    public async Task ARequestWhoseEveryTopicIsDeniedIsStillAnsweredByTheProxyAndNeverForwarded()
    {
        using var mock = KafkaMockCluster.Start();
        mock.CreateTopic("orders");
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        mock.StartRequestTracking();

        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Produce, 7, [new TopicSpec("secrets", 0), new TopicSpec("audit", 0, 1)], correlationId: 3));
        var payload = (await client.ReceiveAsync())!;
        Assert.Equal([("secrets", 0, (short)29), ("audit", 0, (short)29), ("audit", 1, (short)29)], KafkaResponseSchemas.Decode(payload, KafkaApis.Produce, 7));
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
        Assert.Equal(L7Verdict.Denied, proxy.Events.Requests(KafkaApis.Produce).Single().Verdict);
    }

    [Fact]
    public async Task AClientFloodingRequestsPastTheInFlightLimitIsDisconnected()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"), options: new KafkaEngineOptions { MaxInFlightRequests = 8 });
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        // One write of 64 requests: far more than 8 can be awaiting answers when the engine reads them.
        await client.SendAsync([.. Enumerable.Range(1, 64).Select(i => i % 2 == 0 ? Produce("secrets", i) : ApiVersions(i))]);
        var answered = 0;
        while (await client.ReceiveAsync() is not null)
        {
            answered++;
        }

        Assert.InRange(answered, 0, 63);
        Assert.Contains(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError && e.Detail!.Contains("in flight"));
    }

    [Fact]
    public async Task AConnectionNoLongerAllowedAtLayerFourIsClosedOnItsNextRequest()
    {
        using var mock = KafkaMockCluster.Start();
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(ApiVersions(1));
        Assert.NotNull(await client.ReceiveAsync());

        proxy.Policy.DenyConnections();
        mock.StartRequestTracking();
        await client.SendAsync(ApiVersions(2));
        Assert.Null(await client.ReceiveAsync());
        Assert.Empty(mock.Requests());
        Assert.Contains(proxy.Events.Events, e => e.Kind == L7EventKind.ConnectionDenied && e.KafkaCorrelationId == 2);
    }

    [Fact]
    public async Task MetadataLookupsByTopicIdAreAnsweredAsDeniedAndNeverForwarded()
    {
        using var mock = KafkaMockCluster.Start();
        mock.CreateTopic("orders");
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        // Metadata v12: one topic by name, one by id only (null name): the proxy cannot evaluate an id.
        var id = new Guid("00112233-4455-6677-8899-aabbccddeeff");
        var w = new KafkaWriter();
        w.BeginFrame();
        w.Int16(KafkaApis.Metadata);
        w.Int16(12);
        w.Int32(5);
        w.String(false, "c"u8);
        w.Tags(true);
        w.ArrayLength(true, 2);
        w.Uuid(Guid.Empty);
        w.String(true, "orders"u8);
        w.Tags(true);
        w.Uuid(id);
        w.NullString(true);
        w.Tags(true);
        w.Bool(false);
        w.Bool(false);
        w.Tags(true);
        w.EndFrame();
        await client.SendAsync(w.WrittenSpan.ToArray());
        var (_, topics) = ResponseDecoder.Metadata((await client.ReceiveAsync())!, 12);
        Assert.Equal([new ResponseDecoder.Topic(0, "orders"), new ResponseDecoder.Topic(KafkaErrors.TopicAuthorizationFailed, null)], topics);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Metadata), e => e.KafkaTopics!.Contains(id.ToString()) && e.KafkaErrorCode == 29);
    }

    [Fact]
    public async Task LargeMetadataAnswersAreAssembledAndFiltered()
    {
        using var mock = KafkaMockCluster.Start();
        for (var i = 0; i < 1200; i++)
        {
            mock.CreateTopic($"bulk-topic-with-a-long-name-{i:D5}");
        }

        string[] allowed = ["bulk-topic-with-a-long-name-00007", "bulk-topic-with-a-long-name-00600", "bulk-topic-with-a-long-name-01199"];
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(allowed));
        using var client = await RawKafkaClient.ConnectAsync(proxy.EndPoint);

        // All-topics Metadata v9: the broker's answer (~100 KB) exceeds the 32 KiB assembly threshold.
        await client.SendAsync(KafkaRequestBuilder.Build(KafkaApis.Metadata, 9, [], allTopics: true));
        var (brokers, topics) = ResponseDecoder.Metadata((await client.ReceiveAsync(TimeSpan.FromSeconds(20)))!, 9);
        Assert.Equal(allowed, topics.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(proxy.EndPoint.Port, Assert.Single(brokers).Port);
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }
}
