using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;

namespace Membrane.Proxy.Tests.Kafka;

internal static class KafkaTestSupport
{
    public static readonly PolicyRef BrokerPolicy = new("CiliumNetworkPolicy", "kafka", "kafka-broker-policy");

    public static string UniqueTopic(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    public static KafkaRuleSet Rules(params KafkaRule[] rules) => KafkaRuleSet.Compile(rules.Select(r => (r, BrokerPolicy)));

    /// <summary>Produce and consume on the given topics (Cilium roles).</summary>
    public static KafkaRuleSet ProduceConsume(params string[] topics) =>
        Rules([.. topics.SelectMany(t => new[] { new KafkaRule(Role: "produce", Topic: t), new KafkaRule(Role: "consume", Topic: t) })]);
}
