using System.CommandLine;

namespace Membrane.Cli.Commands.Workload;

/// <summary><c>membrane workload</c>: hidden verbs that run the lab's applications (servers the lab starts in pods).</summary>
internal static class WorkloadCommand
{
    /// <summary>The <c>workload</c> group with its verbs.</summary>
    public static Command Build()
    {
        var command = new Command("workload", "Run a lab workload (used by the lab inside pod namespaces).") { Hidden = true };
        command.Subcommands.Add(HttpWorkloadCommand.Build());
        command.Subcommands.Add(GrpcWorkloadCommand.Build());
        command.Subcommands.Add(GrpcCallCommand.Build());
        command.Subcommands.Add(KafkaWorkloadCommand.Build());
        return command;
    }
}
