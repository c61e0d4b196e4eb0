using Confluent.Kafka;
using Membrane.Policy.L7.Kafka;
using Membrane.Proxy.Kafka;
using Membrane.Workloads.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>
/// Confluent.Kafka 2.16 (librdkafka 2.16: flexible versions, Metadata v13, Produce v10, Fetch with topic ids from v13)
/// through the engine to the mock cluster.
/// </summary>
public sealed class ConfluentKafkaTests
{
    /// <summary>
    /// Confluent.Kafka loads librdkafka.redist's <c>librdkafka.so</c>, which needs libsasl2.so.3 (absent on Debian 12),
    /// and falls back to the SASL-less <c>centos8-librdkafka.so</c>, unless a system <c>librdkafka.so</c> (Debian's
    /// librdkafka-dev, 2.0.2) shadows it (protocol-facts §2). This test catches that trap with a clear message.
    /// </summary>
    [Fact]
    public void LoadsLibrdkafkaTwoSixteen() =>
        Assert.True(Library.VersionString.StartsWith("2.16.", StringComparison.Ordinal), $"loaded librdkafka {Library.VersionString}: remove librdkafka-dev (its librdkafka.so shadows librdkafka.redist)");

    private static ProducerConfig Producer(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        MessageTimeoutMs = 8000,
        SocketTimeoutMs = 8000,
        Acks = Acks.All,
    };

    private static ConsumerConfig Consumer(string bootstrap, string group) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        SessionTimeoutMs = 6000,
        SocketTimeoutMs = 8000,
    };

    [Fact]
    public async Task ProducerAndCommittingConsumerGroupWorkOnAnAllowedTopic()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("orders");
        mock.CreateTopic(topic);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(topic));

        using (var producer = new ProducerBuilder<Null, string>(Producer(proxy.Bootstrap)).Build())
        {
            for (var i = 0; i < 3; i++)
            {
                var r = await producer.ProduceAsync(topic, new Message<Null, string> { Value = $"m{i}" });
                Assert.Equal(PersistenceStatus.Persisted, r.Status);
            }
        }

        var group = UniqueTopic("group");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var cc = Consumer(proxy.Bootstrap, group);
        cc.Debug = Environment.GetEnvironmentVariable("KDEBUG");
        using (var consumer = new ConsumerBuilder<Ignore, string>(cc).SetLogHandler((_, m) => log.Enqueue(m.Message)).Build())
        {
            consumer.Subscribe(topic);
            var values = new List<string>();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            ConsumeResult<Ignore, string>? last = null;
            while (values.Count < 3 && DateTime.UtcNow < deadline)
            {
                var cr = consumer.Consume(TimeSpan.FromSeconds(1));
                if (cr is { IsPartitionEOF: false, Message: not null })
                {
                    values.Add(cr.Message.Value);
                    last = cr;
                }
            }

            Assert.True(values.SequenceEqual(["m0", "m1", "m2"]), string.Join(",", values) + "\n" + proxy.Events.Dump() + string.Join("\n", log.TakeLast(60)));
            consumer.Commit(last!);
            var committed = consumer.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10));
            Assert.Equal(3, committed.Single().Offset.Value);
            consumer.Close();
        }

        var events = proxy.Events;
        Assert.Contains(events.Requests(KafkaApis.Produce), e => e.Verdict == L7Verdict.Forwarded && e.KafkaApiVersion >= 9);
        Assert.Contains(events.Requests(KafkaApis.Metadata), e => e.KafkaApiVersion >= 12);
        // The ApiVersions cap keeps Fetch at v12, where topics travel by name (protocol-facts §1.6).
        Assert.All(events.Requests(KafkaApis.Fetch), e => Assert.True(e.KafkaApiVersion <= 12));
        Assert.Contains(events.Requests(KafkaApis.Fetch), e => e.Verdict == L7Verdict.Forwarded && e.KafkaTopics!.Contains(topic));
        Assert.Contains(events.Requests(KafkaApis.OffsetCommit), e => e.Verdict == L7Verdict.Forwarded && e.KafkaTopics!.Contains(topic));
        Assert.Contains(events.Requests(KafkaApis.JoinGroup), e => e.Verdict == L7Verdict.Forwarded && e.KafkaTopics!.Contains(topic));
        Assert.DoesNotContain(events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }

    [Fact]
    public async Task DeniedProduceThrowsTopicAuthorizationFailedAndNeverReachesTheBroker()
    {
        using var mock = KafkaMockCluster.Start();
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(denied);
        var rules = Rules(new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "apiversions"), new KafkaRule(Role: "produce", Topic: "orders"));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);
        mock.StartRequestTracking();

        using var producer = new ProducerBuilder<Null, string>(Producer(proxy.Bootstrap)).Build();
        var ex = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => producer.ProduceAsync(denied, new Message<Null, string> { Value = "leak" }));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, ex.Error.Code);
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Produce), e => e.Verdict == L7Verdict.Denied && e.KafkaApiVersion >= 9);
    }

    [Fact]
    public async Task ConsumerOfADeniedTopicSeesTopicAuthorizationFailed()
    {
        using var mock = KafkaMockCluster.Start();
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(denied);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        mock.StartRequestTracking();

        using var consumer = new ConsumerBuilder<Ignore, string>(Consumer(proxy.Bootstrap, UniqueTopic("group"))).Build();
        consumer.Subscribe(denied);
        ErrorCode? seen = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (seen is null && DateTime.UtcNow < deadline)
        {
            try
            {
                consumer.Consume(TimeSpan.FromSeconds(1));
            }
            catch (ConsumeException e)
            {
                seen = e.Error.Code;
            }
        }

        Assert.Equal(ErrorCode.TopicAuthorizationFailed, seen);
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Fetch);
        consumer.Close();
    }

    [Fact]
    public async Task ConsumerDeniedJoinGroupSeesGroupAuthorizationFailed()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("orders");
        mock.CreateTopic(topic);
        var rules = Rules(
            new KafkaRule(ApiKey: "apiversions"), new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "findcoordinator"),
            new KafkaRule(ApiKey: "fetch", Topic: topic), new KafkaRule(ApiKey: "offsets", Topic: topic));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);
        mock.StartRequestTracking();

        using var consumer = new ConsumerBuilder<Ignore, string>(Consumer(proxy.Bootstrap, UniqueTopic("group"))).Build();
        consumer.Subscribe(topic);
        ErrorCode? seen = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (seen is null && DateTime.UtcNow < deadline)
        {
            try
            {
                consumer.Consume(TimeSpan.FromSeconds(1));
            }
            catch (ConsumeException e)
            {
                seen = e.Error.Code;
            }
        }

        Assert.Equal(ErrorCode.GroupAuthorizationFailed, seen);
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.JoinGroup);
        Assert.Contains(proxy.Events.Requests(KafkaApis.JoinGroup), e => e.Verdict == L7Verdict.Denied && e.KafkaErrorCode == KafkaErrors.GroupAuthorizationFailed);
    }

    [Fact]
    public async Task IdempotentProducerNeedsAnInitProducerIdRuleAsInCilium()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("orders");
        mock.CreateTopic(topic);
        var config = Producer("");

        // role: produce is Produce, Metadata, ApiVersions only (Cilium's GetAPIKeys): InitProducerId is denied.
        await using (var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(topic)))
        {
            config.BootstrapServers = proxy.Bootstrap;
            config.EnableIdempotence = true;
            var errors = new System.Collections.Concurrent.ConcurrentQueue<Error>();
            using var producer = new ProducerBuilder<Null, string>(config).SetErrorHandler((_, e) => errors.Enqueue(e)).Build();
            await Assert.ThrowsAsync<ProduceException<Null, string>>(() => producer.ProduceAsync(topic, new Message<Null, string> { Value = "x" }));
            Assert.Contains(proxy.Events.Requests(KafkaApis.InitProducerId), e => e.Verdict == L7Verdict.Denied && e.KafkaErrorCode == KafkaErrors.ClusterAuthorizationFailed);

            // librdkafka makes the broker's CLUSTER_AUTHORIZATION_FAILED for InitProducerId a fatal producer error.
            Assert.Contains(errors, e => e.IsFatal && e.Code == ErrorCode.ClusterAuthorizationFailed);
        }

        var rules = Rules(new KafkaRule(Role: "produce", Topic: topic), new KafkaRule(ApiKey: "initproducerid"));
        await using (var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules))
        {
            config.BootstrapServers = proxy.Bootstrap;
            using var producer = new ProducerBuilder<Null, string>(config).Build();
            var result = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "idempotent" });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
            Assert.Contains(proxy.Events.Requests(KafkaApis.InitProducerId), e => e.Verdict == L7Verdict.Forwarded);
        }
    }

    /// <summary>
    /// A producer writing to an allowed and a denied topic at once: the allowed messages reach the broker (read back from
    /// it directly) and the denied ones fail with TopicAuthorizationFailed, as against a broker with ACLs.
    /// </summary>
    [Fact]
    public async Task AProduceRequestForAnAllowedAndADeniedTopicDeliversTheAllowedMessages()
    {
        using var mock = KafkaMockCluster.Start();
        var allowed = UniqueTopic("orders");
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(allowed);
        mock.CreateTopic(denied);
        var rules = Rules(new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "apiversions"), new KafkaRule(Role: "produce", Topic: allowed));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);

        var config = Producer(proxy.Bootstrap);
        config.LingerMs = 200;
        using (var producer = new ProducerBuilder<Null, string>(config).Build())
        {
            var sends = new List<Task<DeliveryResult<Null, string>>>();
            for (var i = 0; i < 5; i++)
            {
                sends.Add(producer.ProduceAsync(allowed, new Message<Null, string> { Value = $"ok{i}" }));
                sends.Add(producer.ProduceAsync(denied, new Message<Null, string> { Value = $"leak{i}" }));
            }

            for (var i = 0; i < sends.Count; i++)
            {
                if (i % 2 == 0)
                {
                    Assert.Equal(PersistenceStatus.Persisted, (await sends[i]).Status);
                }
                else
                {
                    var ex = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => sends[i]);
                    Assert.Equal(ErrorCode.TopicAuthorizationFailed, ex.Error.Code);
                }
            }
        }

        // librdkafka 2.16 sends one ProduceRequest per partition (the Java producer batches per broker): each request
        // here names one topic, decided whole; mixed Produce requests are covered with exact frames in KafkaEngineTests.
        Assert.All(proxy.Events.Requests(KafkaApis.Produce), e => Assert.Equal(e.KafkaTopics![0] == allowed ? L7Verdict.Forwarded : L7Verdict.Denied, e.Verdict));
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
        Assert.Equal(["ok0", "ok1", "ok2", "ok3", "ok4"], ReadBack(mock, allowed, 5));
        Assert.Empty(ReadBack(mock, denied, 0));
    }

    /// <summary>
    /// A consumer assigned an allowed and a denied topic (librdkafka fetches every partition a broker leads in one
    /// Fetch): the proxy forwards the Fetch without the denied partition and adds it back with error 29, so the consumer
    /// receives the allowed topic's messages and TopicAuthorizationFailed for the denied one.
    /// </summary>
    [Fact]
    public async Task AConsumerOfAnAllowedAndADeniedTopicGetsTheAllowedMessagesAndAnAuthorizationError()
    {
        using var mock = KafkaMockCluster.Start();
        var allowed = UniqueTopic("orders");
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(allowed);
        mock.CreateTopic(denied);
        using (var direct = new ProducerBuilder<Null, string>(Producer(string.Join(',', mock.BrokerEndPoints.Select(e => e.ToString())))).Build())
        {
            await direct.ProduceAsync(allowed, new Message<Null, string> { Value = "visible" });
            await direct.ProduceAsync(denied, new Message<Null, string> { Value = "hidden" });
        }

        var rules = Rules(new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "apiversions"), new KafkaRule(Role: "consume", Topic: allowed));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);
        var cc = Consumer(proxy.Bootstrap, UniqueTopic("group"));
        using var consumer = new ConsumerBuilder<Ignore, string>(cc).Build();
        consumer.Assign([new TopicPartitionOffset(allowed, 0, 0), new TopicPartitionOffset(denied, 0, 0)]);
        var values = new List<string>();
        var errors = new List<ErrorCode>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((values.Count == 0 || errors.Count == 0) && DateTime.UtcNow < deadline)
        {
            try
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { IsPartitionEOF: false, Message: not null } cr)
                {
                    values.Add($"{cr.Topic}:{cr.Message.Value}");
                }
            }
            catch (ConsumeException e)
            {
                errors.Add(e.Error.Code);
            }
        }

        Assert.Equal([$"{allowed}:visible"], values);
        Assert.Contains(ErrorCode.TopicAuthorizationFailed, errors);
        Assert.True(proxy.Events.Events.Any(e => e.Kind == L7EventKind.KafkaRequest && e.KafkaApiKey is KafkaApis.Fetch or KafkaApis.ListOffsets
            && e.Verdict == L7Verdict.Forwarded && e.KafkaDeniedTopics is { Count: 1 } d && d[0] == denied), proxy.Events.Dump());
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
        consumer.Close();
    }

    /// <summary>Reads a topic's partition 0 straight from the mock broker (no proxy).</summary>
    private static List<string> ReadBack(KafkaMockCluster mock, string topic, int expected)
    {
        var cc = Consumer(string.Join(',', mock.BrokerEndPoints.Select(e => e.ToString())), UniqueTopic("readback"));
        cc.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<Ignore, string>(cc).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (cr is { IsPartitionEOF: true } && values.Count >= expected)
            {
                break;
            }

            if (cr is { IsPartitionEOF: false, Message: not null })
            {
                values.Add(cr.Message.Value);
            }
        }

        consumer.Close();
        return values;
    }
}
