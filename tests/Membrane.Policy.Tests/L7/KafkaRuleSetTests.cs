using System.Text;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;

namespace Membrane.Policy.Tests.L7;

public sealed class KafkaRuleSetTests
{
    private static readonly PolicyRef Broker = new("CiliumNetworkPolicy", "kafka", "kafka-broker-policy");

    private readonly struct Topics(params string[] names) : IKafkaTopicList
    {
        private readonly byte[][] _names = [.. names.Select(Encoding.UTF8.GetBytes)];

        public int Count => _names.Length;

        public ReadOnlySpan<byte> this[int index] => _names[index];
    }

    private static bool Allowed(KafkaRuleSet set, short key, params string[] topics)
    {
        var t = new Topics(topics);
        return set.Evaluate(key, 7, "rdkafka"u8, ref t).Allowed;
    }

    [Fact]
    public void ProduceRoleCoversProduceMetadataApiVersionsOnTheTopic()
    {
        var set = KafkaRuleSet.Compile([(new KafkaRule(Role: "produce", Topic: "orders-topic"), Broker)]);
        Assert.True(Allowed(set, KafkaApiKeys.Produce, "orders-topic"));
        Assert.True(Allowed(set, KafkaApiKeys.Metadata, "orders-topic"));
        Assert.True(Allowed(set, KafkaApiKeys.ApiVersions));
        Assert.False(Allowed(set, KafkaApiKeys.Produce, "other"));
        Assert.False(Allowed(set, KafkaApiKeys.Produce, "orders-topic", "other"));
        Assert.False(Allowed(set, KafkaApiKeys.Fetch, "orders-topic"));
        Assert.False(Allowed(set, KafkaApiKeys.Metadata)); // all-topics metadata: filtered by the proxy instead
    }

    [Fact]
    public void AllTopicsMustBeCoveredAcrossRules()
    {
        var set = KafkaRuleSet.Compile(
        [
            (new KafkaRule(Role: "consume", Topic: "a"), Broker),
            (new KafkaRule(Role: "consume", Topic: "b"), Broker),
        ]);
        Assert.True(Allowed(set, KafkaApiKeys.Fetch, "a", "b"));
        Assert.False(Allowed(set, KafkaApiKeys.Fetch, "a", "c"));
        Assert.True(Allowed(set, KafkaApiKeys.FindCoordinator)); // not topic-bearing: the topic does not apply
        Assert.True(set.IsTopicAllowed(KafkaApiKeys.Metadata, 4, default, "b"u8));
        Assert.False(set.IsTopicAllowed(KafkaApiKeys.Metadata, 4, default, "c"u8));
    }

    [Theory]
    [InlineData((short)32)] // DescribeConfigs
    [InlineData((short)33)] // AlterConfigs
    [InlineData((short)43)] // ElectLeaders
    [InlineData((short)44)] // IncrementalAlterConfigs
    [InlineData((short)47)] // OffsetDelete
    [InlineData((short)61)] // DescribeProducers
    [InlineData((short)75)] // DescribeTopicPartitions
    public void ATopicScopedRuleCoversTopicNamingAdminApisOnlyForItsTopic(short key)
    {
        var set = KafkaRuleSet.Compile([(new KafkaRule(Topic: "orders-topic"), Broker)]);
        Assert.True(Allowed(set, key, "orders-topic"));
        Assert.False(Allowed(set, key, "other"));
        Assert.False(Allowed(set, key)); // e.g. only BROKER config resources, or ElectLeaders for all partitions
        var unscoped = KafkaRuleSet.Compile([(new KafkaRule(ApiKey: "describeconfigs"), Broker)]);
        Assert.Equal(key == 32, Allowed(unscoped, key, "other"));
    }

    [Fact]
    public void RolesStayExactlyCiliums()
    {
        Assert.Equal([0, 3, 18], KafkaApiKeys.ProduceRole);
        Assert.Equal([1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18], KafkaApiKeys.ConsumeRole);
        var set = KafkaRuleSet.Compile([(new KafkaRule(Role: "consume", Topic: "t"), Broker)]);
        Assert.True(Allowed(set, 11)); // JoinGroup is not topic-bearing: the topic does not apply
        Assert.False(Allowed(set, 22)); // InitProducerId is in neither role
    }
}
