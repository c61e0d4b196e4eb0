using System.CommandLine;
using Membrane.Cli.Commands.Policy;

namespace Membrane.Cli;

/// <summary>Builds the <c>membrane</c> command tree. Each verb group lives in its own folder under Commands/.</summary>
public static class CliApp
{
    /// <summary>The root command with every verb registered.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("Membrane: identity-aware L3–L7 network security for microservices (CiliumNetworkPolicy on an eBPF datapath).");
        root.Options.Add(Commands.AgentCall.Instance);
        root.Subcommands.Add(Commands.Agent.AgentCommand.Build());
        root.Subcommands.Add(Commands.Status.StatusCommand.Build());
        root.Subcommands.Add(Commands.Endpoint.EndpointCommand.Build());
        root.Subcommands.Add(Commands.Identity.IdentityCommand.Build());
        root.Subcommands.Add(PolicyCommand.Build());
        root.Subcommands.Add(Commands.Bpf.BpfCommand.Build());
        root.Subcommands.Add(Commands.Monitor.MonitorCommand.Build());
        root.Subcommands.Add(Commands.Observe.ObserveCommand.Build());
        root.Subcommands.Add(Commands.Proxy.ProxyCommand.Build());
        root.Subcommands.Add(Commands.Demo.DemoCommand.Build());
        root.Subcommands.Add(Commands.Lab.LabCommand.Build());
        root.Subcommands.Add(Commands.Workload.WorkloadCommand.Build());
        return root;
    }
}
