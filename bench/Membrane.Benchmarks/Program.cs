using BenchmarkDotNet.Running;

namespace Membrane.Benchmarks;

/// <summary>Runs the BenchmarkDotNet suites chosen on the command line (e.g. <c>--filter *HttpRuleMatch*</c>).</summary>
public static class Program
{
    /// <summary>Entry point. <c>kafka-proxy …</c> runs the Kafka engine as a proxy for <c>bench/traffic/kafka.sh</c>.</summary>
    public static int Main(string[] args)
    {
        if (args is ["kafka-proxy", ..])
        {
            return Kafka.KafkaProxyHost.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
