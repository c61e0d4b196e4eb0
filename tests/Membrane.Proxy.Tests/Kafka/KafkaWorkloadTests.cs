using System.Net;
using Membrane.Workloads.Kafka;

namespace Membrane.Proxy.Tests.Kafka;

/// <summary>The lab's Kafka workload (what <c>membrane workload kafka</c> runs): reachable through its relay and
/// advertising the relay's address, so clients never reach the mock's own loopback port.</summary>
public sealed class KafkaWorkloadTests
{
    [Fact]
    public async Task AdvertisesItsListenAddressAndServesProduceAndConsume()
    {
        var topic = KafkaTestSupport.UniqueTopic("lab");
        await using var broker = KafkaWorkload.Start(new IPEndPoint(IPAddress.Loopback, 0), [(topic, 2)]);
        var bootstrap = broker.EndPoint.ToString();

        var list = await ProcessRunner.RunAsync("kcat", ["-L", "-b", bootstrap, "-m", "8"], timeout: TimeSpan.FromSeconds(30));
        Assert.Contains($"broker 1 at {bootstrap}", list.Stdout);
        Assert.Contains($"topic \"{topic}\" with 2 partitions", list.Stdout);

        var produce = await ProcessRunner.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", topic, "-p", "0"], "via-relay\n", TimeSpan.FromSeconds(30));
        Assert.True(produce.ExitCode == 0, produce.ToString());
        var consume = await ProcessRunner.RunAsync("kcat", ["-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-c", "1"], timeout: TimeSpan.FromSeconds(30));
        Assert.Equal("via-relay", consume.Stdout.Trim());
    }
}
