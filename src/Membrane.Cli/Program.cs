using System.CommandLine;

namespace Membrane.Cli;

/// <summary>Entry point of the <c>membrane</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen verb; returns the process exit code (2 for bad usage).</summary>
    public static int Main(string[] args)
    {
        var parse = CliApp.BuildRoot().Parse(args);
        // Ctrl-C cancels the verb's token; lab up then tears down what it created, which takes longer than the
        // library's default 2 s grace before it kills the process.
        var exitCode = parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) });
        return parse.Errors.Count > 0 ? 2 : exitCode;
    }
}
