using BenchmarkDotNet.Running;

namespace Membrane.Benchmarks;

/// <summary>Runs the BenchmarkDotNet suites chosen on the command line (e.g. <c>--filter *HttpRuleMatch*</c>).</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
