using System.CommandLine;
using System.Text.Json;
using Membrane.Agent.Api;
using Membrane.Agent.Lab;

namespace Membrane.Cli.Commands.Lab;

/// <summary>
/// <c>membrane lab up -f TOPOLOGY.yaml | down [NAME] | status [NAME] | exec POD -- COMMAND...</c>: the whole system on one
/// machine (docs/lab.md).
/// </summary>
internal static class LabCommand
{
    /// <summary>The <c>lab</c> group.</summary>
    public static Command Build()
    {
        var command = new Command("lab", "Run Membrane on this machine: a node namespace, pods, the agent and real workloads (docs/lab.md).");
        command.Subcommands.Add(BuildUp());
        command.Subcommands.Add(BuildDown());
        command.Subcommands.Add(BuildStatus());
        command.Subcommands.Add(BuildExec());
        return command;
    }

    private static Command BuildUp()
    {
        var file = new Option<string>("--file", "-f") { Description = "Topology file (YAML).", Required = true };
        var up = new Command("up", "Create the lab of a topology file: namespaces, agent, endpoints, workloads. Safe to run twice.") { file };
        up.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            LabTopology topology;
            try
            {
                topology = LabTopologyParser.ParseFile(parse.GetValue(file)!);
            }
            catch (TopologyException e)
            {
                foreach (var item in e.Errors)
                {
                    error.WriteLine(item);
                }

                error.WriteLine($"error: the topology is invalid ({e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}); nothing was created");
                return 1;
            }

            try
            {
                var state = await UpAsync(topology, parse.GetValue(file)!, new ConsoleProgress(output), cancellationToken).ConfigureAwait(false);
                output.WriteLine();
                output.WriteLine($"lab \"{state.Name}\" is up: {state.Pods.Count} pods, agent pid {state.AgentPid}.");
                output.WriteLine($"  membrane lab exec {state.Pods[0].Name} -- curl -s http://{state.Pods.FirstOrDefault(p => p.Server == "http")?.Name ?? "POD"}/");
                output.WriteLine("  membrane lab status | membrane endpoint list | membrane observe --follow");
                output.WriteLine($"  membrane lab down {state.Name}");
                return 0;
            }
            catch (OperationCanceledException)
            {
                error.WriteLine("interrupted: the lab was removed");
                return 130;
            }
            catch (Exception e) when (e is LabException or AgentUnavailableException or AgentApiException or Membrane.Datapath.DatapathException or InvalidOperationException or TimeoutException or IOException)
            {
                error.WriteLine($"error: lab up failed: {e.Message}");
                return 1;
            }
        });
        return up;
    }

    /// <summary>Brings <paramref name="topology"/> up (shared with the demo).</summary>
    public static Task<LabState> UpAsync(LabTopology topology, string topologyFile, ILabProgress progress, CancellationToken cancellationToken) =>
        new LabController(Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the membrane executable's path"), progress)
            .UpAsync(topology, topologyFile, cancellationToken);

    /// <summary>Removes lab <paramref name="name"/> (shared with the demo).</summary>
    public static bool Down(string name, ILabProgress progress) =>
        new LabController(Environment.ProcessPath ?? "membrane", progress).Down(name);

    private static Command BuildDown()
    {
        var name = new Argument<string?>("name") { Description = "Lab name (default: the only lab).", Arity = ArgumentArity.ZeroOrOne };
        var down = new Command("down", "Remove a lab: workloads, agent, namespaces, pinned maps, state.") { name };
        down.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var labs = parse.GetValue(name) is { } n ? [n] : LabPaths.RunningLabs();
            if (labs.Count == 0)
            {
                output.WriteLine("no lab is running");
                return 0;
            }

            foreach (var lab in labs)
            {
                Down(lab, new ConsoleProgress(output));
            }

            return 0;
        });
        return down;
    }

    private static Command BuildStatus()
    {
        var name = new Argument<string?>("name") { Description = "Lab name (default: every lab).", Arity = ArgumentArity.ZeroOrOne };
        var format = AgentCall.Output("table", "json");
        var status = new Command("status", "Show a lab's pods, addresses, endpoints and processes.") { name, format };
        status.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var labs = parse.GetValue(name) is { } n ? [n] : LabPaths.RunningLabs();
            var states = labs.Select(l => LabState.Load(LabPaths.StateFile(l))).OfType<LabState>().ToList();
            if (parse.GetValue(format) == "json")
            {
                output.WriteLine(JsonSerializer.Serialize(states.Select(s => new { lab = s, healthy = LabController.IsHealthy(s) }), LabJson));
                return 0;
            }

            if (states.Count == 0)
            {
                output.WriteLine(parse.GetValue(name) is { } missing ? $"lab \"{missing}\" is not running" : "no lab is running");
                return parse.GetValue(name) is null ? 0 : 1;
            }

            foreach (var s in states)
            {
                var agent = LabController.IsProcessRunning(s.Name, s.AgentPid) ? $"running (pid {s.AgentPid})" : "NOT RUNNING";
                output.WriteLine($"lab {s.Name}: node namespace {s.NodeNamespace}, router {s.RouterAddress}, agent {agent}, up since {s.CreatedUtc:u}");
                output.WriteLine($"{"POD",-28} {"IPv4",-15} {"ENDPOINT",-9} {"NETNS",-22} {"SERVER",-12} {"ALIASES",-20} STATE");
                foreach (var p in s.Pods)
                {
                    var server = p.Server == "none" ? "-" : $"{p.Server}:{p.Port}";
                    var state = p.Server == "none" ? "ready" : LabController.IsProcessRunning(s.Name, p.WorkloadPid) ? "ready" : "workload down";
                    output.WriteLine($"{p.Namespace + "/" + p.Name,-28} {p.Address,-15} {p.EndpointId,-9} {p.NetworkNamespace,-22} {server,-12} {(p.Aliases.Count == 0 ? "-" : string.Join(",", p.Aliases)),-20} {state}");
                }
            }

            return 0;
        });
        return status;
    }

    private static Command BuildExec()
    {
        var pod = new Argument<string>("pod") { Description = "Pod name, alias or namespace/name." };
        var command = new Argument<string[]>("command") { Description = "The command to run inside the pod's network namespace (after --).", Arity = ArgumentArity.OneOrMore };
        var lab = new Option<string?>("--lab") { Description = "Lab name (default: the only lab)." };
        var exec = new Command("exec", "Run a command inside a pod's network namespace, where pods and aliases resolve by name.") { pod, command, lab };
        exec.SetAction(parse =>
        {
            var error = parse.InvocationConfiguration.Error;
            var labs = parse.GetValue(lab) is { } l ? [l] : LabPaths.RunningLabs();
            if (labs.Count != 1)
            {
                error.WriteLine(labs.Count == 0 ? "error: no lab is running (membrane lab up -f TOPOLOGY.yaml)" : $"error: several labs are running ({string.Join(", ", labs)}); choose one with --lab");
                return 1;
            }

            var state = LabState.Load(LabPaths.StateFile(labs[0]));
            var target = state?.FindPod(parse.GetValue(pod)!);
            if (target is null)
            {
                error.WriteLine($"error: lab \"{labs[0]}\" has no pod \"{parse.GetValue(pod)}\" (pods: {string.Join(", ", state?.Pods.Select(p => p.Name) ?? [])})");
                return 1;
            }

            return LabController.Exec(target, parse.GetValue(command)!);
        });
        return exec;
    }

    private static readonly JsonSerializerOptions LabJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <summary>Prints lab progress lines on the terminal.</summary>
internal sealed class ConsoleProgress(TextWriter output) : ILabProgress
{
    /// <inheritdoc />
    public void Step(string message) => output.WriteLine($"  · {message}");
}
