using System.CommandLine;

namespace Membrane.Cli;

/// <summary>Entry point of the <c>membrane</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen verb; returns the process exit code (2 for bad usage).</summary>
    public static int Main(string[] args)
    {
        var parse = CliApp.BuildRoot().Parse(args);
        var exitCode = parse.Invoke();
        return parse.Errors.Count > 0 ? 2 : exitCode;
    }
}
