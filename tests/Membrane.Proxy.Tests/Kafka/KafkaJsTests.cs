using System.Text.Json;
using Membrane.Policy.L7.Kafka;
using Membrane.Proxy.Kafka;
using Membrane.Workloads.Kafka;
using static Membrane.Proxy.Tests.Kafka.KafkaTestSupport;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>kafkajs 2.2.4 (never flexible: Metadata v6, Produce v7, Fetch v11) through the engine to the mock cluster.</summary>
public sealed class KafkaJsTests
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static bool _installed;

    /// <summary>The client folder in the source tree (package.json, package-lock.json, client.js).</summary>
    private static string ClientDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "Membrane.Proxy.Tests", "Kafka", "kafkajs");
                if (File.Exists(Path.Combine(candidate, "package-lock.json")))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("tests/Membrane.Proxy.Tests/Kafka/kafkajs not found above " + AppContext.BaseDirectory);
        }
    }

    private static async Task<JsonElement> RunAsync(params string[] args)
    {
        var dir = ClientDirectory;
        await InstallLock.WaitAsync();
        try
        {
            if (!_installed)
            {
                var install = await ProcessRunner.RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], timeout: TimeSpan.FromMinutes(3), workingDirectory: dir);
                Assert.True(install.ExitCode == 0, "npm ci failed: " + install);
                _installed = true;
            }
        }
        finally
        {
            InstallLock.Release();
        }

        var run = await ProcessRunner.RunAsync("node", ["client.js", .. args], timeout: TimeSpan.FromSeconds(60), workingDirectory: dir);
        Assert.True(run.ExitCode == 0, run.ToString());
        var line = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? throw new InvalidOperationException(run.ToString());
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    [Fact]
    public async Task ProducesAndConsumesWithAConsumerGroupThatCommits()
    {
        using var mock = KafkaMockCluster.Start();
        var topic = UniqueTopic("orders");
        mock.CreateTopic(topic);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume(topic));

        var produced = await RunAsync("produce", proxy.Bootstrap, topic, "3");
        Assert.True(produced.GetProperty("ok").GetBoolean(), produced.ToString() + "\n" + proxy.Events.Dump());

        var consumed = await RunAsync("consume", proxy.Bootstrap, topic, UniqueTopic("group"), "3");
        Assert.True(consumed.GetProperty("ok").GetBoolean(), consumed.ToString() + "\n" + proxy.Events.Dump());
        Assert.Equal(["js0", "js1", "js2"], consumed.GetProperty("values").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("3", consumed.GetProperty("committed")[0].GetString());

        Assert.Contains(proxy.Events.Requests(KafkaApis.Produce), e => e.Verdict == L7Verdict.Forwarded && e.KafkaApiVersion == 7 && e.KafkaClientId == "kafkajs-membrane");
        Assert.Contains(proxy.Events.Requests(KafkaApis.OffsetCommit), e => e.Verdict == L7Verdict.Forwarded && e.KafkaTopics!.Contains(topic));
        Assert.DoesNotContain(proxy.Events.Events, e => e.Kind == L7EventKind.ProtocolError);
    }

    [Fact]
    public async Task DeniedTopicIsReportedAsTopicAuthorizationFailed()
    {
        using var mock = KafkaMockCluster.Start();
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(denied);
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], ProduceConsume("orders"));
        mock.StartRequestTracking();

        var produced = await RunAsync("produce", proxy.Bootstrap, denied, "1");
        Assert.False(produced.GetProperty("ok").GetBoolean());
        Assert.Equal("TOPIC_AUTHORIZATION_FAILED", produced.GetProperty("type").GetString());
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
    }

    [Fact]
    public async Task DeniedProduceRequestIsAnsweredWithTopicAuthorizationFailed()
    {
        using var mock = KafkaMockCluster.Start();
        var denied = UniqueTopic("secrets");
        mock.CreateTopic(denied);
        var rules = Rules(new KafkaRule(ApiKey: "metadata"), new KafkaRule(ApiKey: "apiversions"), new KafkaRule(Role: "produce", Topic: "orders"));
        await using var proxy = KafkaTestProxy.Start(mock.BrokerEndPoints[0], rules);
        mock.StartRequestTracking();

        var produced = await RunAsync("produce", proxy.Bootstrap, denied, "1");
        Assert.False(produced.GetProperty("ok").GetBoolean());
        Assert.Equal("TOPIC_AUTHORIZATION_FAILED", produced.GetProperty("type").GetString());
        Assert.DoesNotContain(mock.Requests(), r => r.ApiKey == KafkaApis.Produce);
        Assert.Contains(proxy.Events.Requests(KafkaApis.Produce), e => e.Verdict == L7Verdict.Denied && e.KafkaApiVersion == 7);
    }
}
