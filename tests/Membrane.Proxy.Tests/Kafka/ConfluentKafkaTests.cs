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
}
