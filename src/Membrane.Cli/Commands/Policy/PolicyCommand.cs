using System.CommandLine;

namespace Membrane.Cli.Commands.Policy;

/// <summary>The <c>membrane policy</c> verb group: offline policy tools that call the Policy layer directly.</summary>
internal static class PolicyCommand
{
    public static Command Build()
    {
        var policy = new Command("policy", "Validate and explain CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy files.");
        policy.Subcommands.Add(PolicyValidateCommand.Build());
        policy.Subcommands.Add(TraceCommand.Build());
        return policy;
    }
}
