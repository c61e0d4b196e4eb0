using System.Text.Json;
using Membrane.Cli.Tests.Support;
using Xunit.Abstractions;

namespace Membrane.Cli.Tests.Commands.Agent;

/// <summary>
/// The seed's Kafka pattern through the agent: kcat in pods against <c>membrane workload kafka</c> (librdkafka's mock
/// cluster, a real Kafka-protocol broker), the seed's kafka-broker-policy imported with the CLI, every request through
/// the transparent proxy's Kafka engine, and the flows that record it.
/// </summary>
public sealed class KafkaScenarioTests(ITestOutputHelper output)
{
    private static readonly string[] Common = ["-X", "message.timeout.ms=6000", "-X", "socket.timeout.ms=6000", "-m", "6"];

    [Fact]
    public async Task Orders_may_produce_shipping_may_consume_and_nothing_else_touches_the_topic()
    {
        await using var lab = await CliLab.StartAsync(output, ("kafka/orders", "app=orders"), ("kafka/shipping", "app=shipping"),
            ("kafka/kafka-broker", "app=kafka-broker"), ("kafka/intruder", "app=intruder"));
        await lab.ServeKafkaAsync("kafka-broker", 9092, "orders-topic");
        var policy = Path.Combine(Golden.RepositoryRoot, "examples", "seed", "kafka-broker-policy.yaml");
        var (code, stdout, stderr) = await lab.MembraneAsync("policy", "import", policy);
        Assert.True(code == 0, stderr);

        const string Broker = "10.244.1.13:9092";
        var produce = await lab.InPodAsync("orders", TimeSpan.FromSeconds(40), "order-1\norder-2\n", ["kcat", "-P", "-b", Broker, "-t", "orders-topic", .. Common]);
        Assert.True(produce.Code == 0, produce.Stderr);

        var consume = await lab.InPodAsync("shipping", TimeSpan.FromSeconds(40), null,
            ["kcat", "-C", "-b", Broker, "-t", "orders-topic", "-o", "beginning", "-e", "-c", "2", "-f", "%s\n", .. Common]);
        Assert.True(consume.Code == 0, consume.Stderr);
        Assert.Equal(["order-1", "order-2"], consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // orders may not consume and shipping may not produce: answered by the proxy with TOPIC_AUTHORIZATION_FAILED.
        var ordersConsume = await lab.InPodAsync("orders", TimeSpan.FromSeconds(40), null,
            ["kcat", "-C", "-b", Broker, "-t", "orders-topic", "-o", "beginning", "-e", "-c", "1", .. Common]);
        Assert.Contains("Topic authorization failed", ordersConsume.Stderr + ordersConsume.Stdout);
        var shippingProduce = await lab.InPodAsync("shipping", TimeSpan.FromSeconds(40), "forged\n", ["kcat", "-P", "-b", Broker, "-t", "orders-topic", .. Common]);
        Assert.Contains("Topic authorization failed", shippingProduce.Stderr);

        // intruder is not in the policy at all: its connection is dropped at L3/L4.
        var intruder = await lab.InPodAsync("intruder", TimeSpan.FromSeconds(40), null, ["kcat", "-b", Broker, "-L", "-m", "3"]);
        Assert.NotEqual(0, intruder.Code);

        (code, stdout, stderr) = await lab.MembraneAsync("observe", "--protocol", "kafka", "--verdict", "DROPPED", "-o", "json", "--last", "50");
        Assert.True(code == 0, stderr);
        var denials = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("flow")).ToList();
        Assert.NotEmpty(denials);
        Assert.All(denials, f =>
        {
            Assert.Equal("L7", f.GetProperty("Type").GetString());
            Assert.Equal("kafka-broker-policy", Assert.Single(f.GetProperty("ingress_denied_by").EnumerateArray()).GetProperty("name").GetString());
            Assert.Equal("kafka", f.GetProperty("destination").GetProperty("namespace").GetString());
        });
        Assert.Contains(denials, f => f.GetProperty("source").GetProperty("pod_name").GetString() == "shipping"
            && f.GetProperty("l7").GetProperty("kafka").GetProperty("topic").GetString() == "orders-topic");

        (code, stdout, _) = await lab.MembraneAsync("observe", "--from-pod", "kafka/intruder", "--type", "drop", "--last", "1");
        Assert.Equal(0, code);
        Assert.Contains("kafka/intruder:", stdout);
        Assert.Contains("Policy denied DROPPED", stdout);

        (code, stdout, _) = await lab.MembraneAsync("endpoint", "get", "kafka/kafka-broker");
        Assert.Equal(0, code);
        Assert.Contains("ingress 9092/TCP kafka -> proxy port 15090", stdout);
    }
}
