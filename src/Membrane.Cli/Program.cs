using System.CommandLine;

namespace Membrane.Cli;

/// <summary>Entry point of the <c>membrane</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen verb; returns the process exit code.</summary>
    public static int Main(string[] args) => CliApp.BuildRoot().Parse(args).Invoke();
}
