using Membrane.Policy.L7.Kafka;
using Membrane.Proxy.Kafka;
using Membrane.Workloads.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>Debian's kcat (librdkafka 2.0.2: Produce v7, Fetch v11, Metadata v4) through the engine to the mock cluster.</summary>
public sealed class KcatTests
{
    private static readonly string[] Common = ["-X", "message.timeout.ms=8000", "-X", "socket.timeout.ms=8000", "-m", "8"];

    private static Task<ProcessRunner.Result> Kcat(IEnumerable<string> args, string? stdin = null) =>
        ProcessRunner.RunAsync("kcat", args, stdin, TimeSpan.FromSeconds(40));

    [Fact]
    public async Task ProducesAndConsumesAnAllowedTopic()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("orders");
        mock.CreateTopic(topic);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(topic));

        var produce = await Kcat(["-P", "-b", proxy.Bootstrap, "-t", topic, .. Common], "hello-1\nhello-2\n");
        Assert.True(produce.ExitCode == 0, produce + proxy.Events.Dump());

        var consume = await Kcat(["-C", "-b", proxy.Bootstrap, "-t", topic, "-o", "beginning", "-e", "-c", "2", "-f", "%s\n", .. Common]);
        Assert.True(consume.ExitCode == 0, consume.ToString());
        Assert.Equal(["hello-1", "hello-2"], consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.Contains(proxy.Events.Requests(KafkaApis.Produce), e => e.Verdict == L7Verdict.Forwarded && e.KafkaTopics!.Contains(topic) && e.KafkaApiVersion == 7);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Fetch), e => e.Verdict == L7Verdict.Forwarded && e.KafkaApiVersion == 11);
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }

    [Fact]
    public async Task DeniedTopicInMetadataFailsDeliveryWithTopicAuthorizationFailed()
    {
        using var mock = KafkaMockCluster.Start();
        var allowed = UniqueTopic("orders");
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(allowed);
        mock.CreateTopic(denied);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(allowed));
        mock.StartRequestTracking();

        var produce = await Kcat(["-P", "-b", proxy.Bootstrap, "-t", denied, .. Common], "leak\n");
        Assert.Contains("Topic authorization failed", produce.Stderr);
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Metadata), e => e.KafkaErrorCode == KafkaErrors.TopicAuthorizationFailed && e.KafkaTopics!.Contains(denied));
    }

    [Fact]
    public async Task DeniedProduceIsAnsweredWithErrorTwentyNineAndNeverReachesTheBroker()
    {
        using var mock = KafkaMockCluster.Start();
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(denied);

        // Metadata is allowed for every topic, Produce only for another one: the Produce request itself is denied.
        var rules = Rules(new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "apiversions"), new KafkaRule(ApiKey: "produce", Topic: "orders"));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);
        mock.StartRequestTracking();

        var produce = await Kcat(["-P", "-b", proxy.Bootstrap, "-t", denied, .. Common], "leak\n");
        Assert.Contains("Delivery failed", produce.Stderr);
        Assert.Contains("Topic authorization failed", produce.Stderr);
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
        var denial = Assert.Single(proxy.Events.Requests(KafkaApis.Produce).Where(e => e.Verdict == L7Verdict.Denied).Take(1));
        Assert.Equal(KafkaErrors.TopicAuthorizationFailed, denial.KafkaErrorCode);
        Assert.Equal(KafkaTestSupport.BrokerPolicy, denial.DecidedBy);
        Assert.Equal(Membrane.Policy.Model.TrafficDirection.Ingress, denial.DeniedDirection);
        Assert.Contains(proxy.Events.Events, e => e.Kind == L7EventKind.KafkaResponse && e.KafkaApiKey == KafkaApis.Produce && e.KafkaErrorCode == 29);
    }

    [Fact]
    public async Task DeniedFetchSurfacesTopicAuthorizationFailedToTheConsumer()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("secrets");
        mock.CreateTopic(topic);
        var rules = Rules(new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "apiversions"), new KafkaRule(ApiKey: "offsets"), new KafkaRule(ApiKey: "fetch", Topic: "orders"));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);
        mock.StartRequestTracking();

        var consume = await Kcat(["-C", "-b", proxy.Bootstrap, "-t", topic, "-o", "beginning", "-e", .. Common]);
        Assert.Contains("Topic authorization failed", consume.Stderr + consume.Stdout);
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Fetch);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Fetch), e => e.Verdict == L7Verdict.Denied);
    }

    [Fact]
    public async Task LargeMessagesCrossTheProxyInBothDirections()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("blobs");
        mock.CreateTopic(topic);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(topic));
        var big = new string('a', 300_000) + "-end";

        // Frames far above the engine's 32 KiB assembly threshold: the request is assembled out of the pipe, the
        // fetch response is relayed as it arrives.
        var produce = await Kcat(["-P", "-b", proxy.Bootstrap, "-t", topic, .. Common], big + "\n");
        Assert.True(produce.ExitCode == 0, produce + proxy.Events.Dump());
        var consume = await Kcat(["-C", "-b", proxy.Bootstrap, "-t", topic, "-o", "beginning", "-e", "-c", "1", .. Common]);
        Assert.Equal(big, consume.Stdout.TrimEnd('\n'));
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }

    [Fact]
    public async Task BrokerErrorsOnRelayedProduceResponsesAreRecordedInEvents()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("orders");
        mock.CreateTopic(topic);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(topic));
        mock.PushRequestErrors(KafkaApis.Produce, 19); // NOT_ENOUGH_REPLICAS once: the producer retries

        var produce = await Kcat(["-P", "-b", proxy.Bootstrap, "-t", topic, .. Common], "retried\n");
        Assert.True(produce.ExitCode == 0, produce + proxy.Events.Dump());
        var responses = proxy.Events.Events.Where(e => e.Kind == L7EventKind.KafkaResponse && e.KafkaApiKey == KafkaApis.Produce).ToList();
        Assert.Equal([(short)19, (short)0], responses.Select(e => e.KafkaErrorCode));
        Assert.All(responses, e => Assert.Equal(L7Verdict.Forwarded, e.Verdict));
    }
}
