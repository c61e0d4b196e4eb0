using System.CommandLine;

namespace Membrane.Cli.Commands.Policy;

/// <summary>The <c>membrane policy</c> verb group: offline policy tools that call the Policy layer directly.</summary>
internal static class PolicyCommand
{
    public static Command Build()
    {
        var policy = new Command("policy", "Import, show, delete, validate and explain CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy.");
        policy.Subcommands.Add(PolicyImportCommand.Build());
        policy.Subcommands.Add(PolicyGetCommand.Build());
        policy.Subcommands.Add(PolicyDeleteCommand.Build());
        policy.Subcommands.Add(PolicyValidateCommand.Build());
        policy.Subcommands.Add(TraceCommand.Build());
        return policy;
    }
}
