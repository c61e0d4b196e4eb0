using System.Diagnostics;
using System.Globalization;
using System.Net;
using Membrane.Agent.Api;
using Membrane.Agent.Hosting;
using Membrane.Datapath;
using Membrane.Datapath.Netns;

namespace Membrane.Agent.Lab;

/// <summary>Receives progress lines while a lab comes up or goes down (the CLI prints them).</summary>
public interface ILabProgress
{
    /// <summary>A step started or finished.</summary>
    void Step(string message);
}

/// <summary>
/// Brings a lab up and down: the node and pod namespaces (Datapath's netns primitives), hosts files with pod names
/// and aliases, the agent inside the node namespace, one endpoint per pod, and the pods' workloads. Everything it
/// creates is recorded in <see cref="LabState"/> as soon as it exists, so a failed or interrupted <c>up</c> and a
/// later <c>down</c> remove exactly that.
/// </summary>
public sealed class LabController(string membraneExecutable, ILabProgress progress)
{

    /// <summary>Creates the lab. If a lab with this name is already up from the same topology file, returns its state
    /// unchanged; any failure (or cancellation) tears down what was created and rethrows.</summary>
    public async Task<LabState> UpAsync(LabTopology topology, string topologyFile, CancellationToken cancellationToken)
    {
        var stateFile = LabPaths.StateFile(topology.Name);
        var existing = LabState.Load(stateFile);
        if (existing is not null)
        {
            if (IsHealthy(existing) && existing.TopologyFile == Path.GetFullPath(topologyFile))
            {
                progress.Step($"lab \"{topology.Name}\" is already up ({existing.Pods.Count} pods); nothing to do");
                return existing;
            }

            progress.Step($"lab \"{topology.Name}\" exists but is not healthy or uses another topology: removing it first");
            Down(topology.Name);
        }

        var prefix = PrefixFor(topology.Name);
        var state = new LabState(topology.Name, prefix, Path.GetFullPath(topologyFile), $"{prefix}-node", topology.RouterAddress.ToString(), 0, [], DateTimeOffset.UtcNow);
        try
        {
            state.Save(stateFile);
            progress.Step($"creating node namespace {prefix}-node (router {topology.RouterAddress})");
            var node = NodeNamespace.Create(prefix, topology.RouterAddress);
            var pods = new List<LabPodState>();
            foreach (var pod in topology.Pods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var ns = node.AddPod(pod.Name, pod.Address);
                pods.Add(new LabPodState(pod.Name, pod.Namespace, ns.Name, ns.HostInterface, pod.Address.ToString(), pod.Aliases,
                    pod.Server.ToString().ToLowerInvariant(), pod.Port, 0, 0));
                state = state with { Pods = [.. pods] };
                state.Save(stateFile);
                progress.Step($"pod {pod.QualifiedName,-24} {pod.Address,-15} veth {ns.HostInterface}");
            }

            WriteHostsFiles(state);

            progress.Step("starting the agent in the node namespace");
            var agentPid = LabProcess.StartDetached(
                ["nsenter", $"--net={NetworkNamespace.NamespacePath(state.NodeNamespace)}", membraneExecutable, "agent",
                 "--instance", topology.Name, "--node-netns", NetworkNamespace.NamespacePath(state.NodeNamespace),
                 "--state-dir", Path.Combine(LabPaths.Directory(topology.Name), "agent")],
                LabPaths.Log(topology.Name, "agent"),
                Marker(topology.Name),
                AgentEnvironment);
            state = state with { AgentPid = agentPid };
            state.Save(stateFile);
            await WaitForAgentAsync(topology.Name, agentPid, cancellationToken).ConfigureAwait(false);

            for (var i = 0; i < pods.Count; i++)
            {
                var pod = topology.Pods[i];
                var id = await RegisterAsync(topology, pod, pods[i].HostInterface, cancellationToken).ConfigureAwait(false);
                pods[i] = pods[i] with { EndpointId = id };
                progress.Step($"endpoint {id,5} {pod.QualifiedName}");
            }

            state = state with { Pods = [.. pods] };
            state.Save(stateFile);

            for (var i = 0; i < pods.Count; i++)
            {
                var pod = topology.Pods[i];
                if (pod.Server == LabServerKind.None)
                {
                    continue;
                }

                var pid = LabProcess.StartDetached(
                    ["ip", "netns", "exec", pods[i].NetworkNamespace, membraneExecutable, .. WorkloadArguments(pod)],
                    LabPaths.Log(topology.Name, $"workload-{pod.Name}"),
                    Marker(topology.Name),
                    WorkloadEnvironment);
                pods[i] = pods[i] with { WorkloadPid = pid };
                state = state with { Pods = [.. pods] };
                state.Save(stateFile);
            }

            foreach (var (pod, podState) in topology.Pods.Zip(pods))
            {
                if (pod.Server != LabServerKind.None)
                {
                    await WaitListeningAsync(topology.Name, podState, cancellationToken).ConfigureAwait(false);
                    progress.Step($"{pod.Server.ToString().ToLowerInvariant(),-5} server ready on {pod.Name}:{pod.Port}");
                }
            }

            return state;
        }
        catch
        {
            progress.Step("lab up failed or was interrupted: removing everything it created");
            Down(topology.Name);
            throw;
        }
    }

    /// <summary>Removes lab <paramref name="name"/>: workloads and agent (by PID), namespaces, hosts files, pins and
    /// state. Safe to call on a half-created or already removed lab. Returns false if there was nothing to remove.</summary>
    public bool Down(string name)
    {
        var state = LabState.Load(LabPaths.StateFile(name));
        var prefix = state?.Prefix ?? PrefixFor(name);
        var found = state is not null;
        if (state is not null)
        {
            foreach (var pod in state.Pods.Where(p => p.WorkloadPid > 0))
            {
                LabProcess.Stop(pod.WorkloadPid, Marker(name), TimeSpan.FromSeconds(5));
            }

            if (state.AgentPid > 0)
            {
                progress.Step("stopping the agent");
                LabProcess.Stop(state.AgentPid, Marker(name), TimeSpan.FromSeconds(10));
            }
        }

        // Every namespace of this lab carries its prefix; that also catches pods created before the state was saved.
        foreach (var ns in ListNamespaces().Where(n => n.StartsWith(prefix + "-", StringComparison.Ordinal)))
        {
            found = true;
            RunQuiet("ip", "netns", "del", ns);
            var etc = $"/etc/netns/{ns}";
            if (Directory.Exists(etc))
            {
                Directory.Delete(etc, recursive: true);
            }
        }

        found |= EbpfDatapath.RemoveInstancePins(name);
        var dir = LabPaths.Directory(name);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        if (found)
        {
            progress.Step($"lab \"{name}\" removed");
        }

        return found;
    }

    /// <summary>True if the agent and every workload still run and the node namespace exists.</summary>
    public static bool IsHealthy(LabState state) =>
        LabProcess.IsRunning(state.AgentPid, Marker(state.Name))
        && state.Pods.Where(p => p.Server != "none").All(p => LabProcess.IsRunning(p.WorkloadPid, Marker(state.Name)))
        && ListNamespaces().Contains(state.NodeNamespace);

    /// <summary>Whether one process of lab <paramref name="lab"/> is alive (for <c>lab status</c>).</summary>
    public static bool IsProcessRunning(string lab, int pid) => LabProcess.IsRunning(pid, Marker(lab));

    /// <summary>The environment entry every process of a lab carries; a PID is signalled only if it has it.</summary>
    private static string Marker(string lab) => $"MEMBRANE_LAB_INSTANCE={lab}";

    /// <summary>Runs <paramref name="command"/> inside the pod's network namespace with the terminal attached
    /// (<c>ip netns exec</c>, so <c>/etc/hosts</c> resolves pod names and aliases); returns its exit code.</summary>
    public static int Exec(LabPodState pod, IReadOnlyList<string> command)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (var a in (string[])["netns", "exec", pod.NetworkNamespace, .. command])
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start ip netns exec");
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>The prefix of a lab's namespace and interface names: <c>mb</c> + up to 6 characters of the name.</summary>
    public static string PrefixFor(string labName) => "mb" + (labName.Length > 6 ? labName[..6] : labName);

    private static readonly Dictionary<string, string> AgentEnvironment = new()
    {
        // See docs/design/contracts.md: socket continuations run inline; nothing on them may block.
        ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1",
        ["DOTNET_hostBuilder__reloadConfigOnChange"] = "false",
    };

    private static readonly Dictionary<string, string> WorkloadEnvironment = new()
    {
        ["DOTNET_hostBuilder__reloadConfigOnChange"] = "false",
    };

    private static string[] WorkloadArguments(LabPod pod) => pod.Server switch
    {
        LabServerKind.Http => ["workload", "http", "--listen", $"0.0.0.0:{pod.Port}"],
        LabServerKind.Grpc => ["workload", "grpc", "--listen", $"0.0.0.0:{pod.Port}"],
        LabServerKind.Kafka => ["workload", "kafka", "--listen", $"{pod.Address}:{pod.Port}"],
        _ => throw new ArgumentOutOfRangeException(nameof(pod)),
    };

    private static async Task<int> RegisterAsync(LabTopology topology, LabPod pod, string hostInterface, CancellationToken cancellationToken)
    {
        using var client = new AgentClient(AgentPaths.Socket(topology.Name));
        var endpoint = await client.CreateEndpointAsync(new EndpointCreateRequest
        {
            PodName = pod.Name,
            Namespace = pod.Namespace,
            Labels = pod.Labels,
            NamespaceLabels = topology.NamespaceLabels.TryGetValue(pod.Namespace, out var nsLabels) ? nsLabels : null,
            InterfaceName = hostInterface,
            IPv4 = pod.Address.ToString(),
            NamedPorts = pod.Server == LabServerKind.None ? null : [new NamedPortModel(pod.Server.ToString().ToLowerInvariant(), pod.Port)],
        }, cancellationToken).ConfigureAwait(false);
        return endpoint.Id;
    }

    private static async Task WaitForAgentAsync(string instance, int agentPid, CancellationToken cancellationToken)
    {
        using var client = new AgentClient(AgentPaths.Socket(instance));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!IsProcessRunning(instance, agentPid))
            {
                throw new LabException($"the agent exited during start-up; last lines of {LabPaths.Log(instance, "agent")}:{Environment.NewLine}{Tail(LabPaths.Log(instance, "agent"), 15)}");
            }

            if (AgentClient.IsListening(client.SocketPath))
            {
                try
                {
                    await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (AgentUnavailableException)
                {
                    // Listening but not serving yet: keep waiting.
                }
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new LabException($"the agent did not answer within 90 s; see {LabPaths.Log(instance, "agent")}");
    }

    private static string Tail(string file, int lines) =>
        File.Exists(file) ? string.Join(Environment.NewLine, File.ReadLines(file).TakeLast(lines).Select(l => "  | " + l)) : "  (no log)";

    private static void WriteHostsFiles(LabState state)
    {
        var lines = new List<string> { "127.0.0.1 localhost" };
        foreach (var p in state.Pods)
        {
            lines.Add(string.Join(' ', [p.Address, p.Name, $"{p.Name}.{p.Namespace}", $"{p.Name}.{p.Namespace}.svc.cluster.local", .. p.Aliases]));
        }

        var text = string.Join('\n', lines) + "\n";
        foreach (var p in state.Pods)
        {
            var dir = $"/etc/netns/{p.NetworkNamespace}";
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "hosts"), text);
        }
    }

    private static async Task WaitListeningAsync(string lab, LabPodState pod, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!LabProcess.IsRunning(pod.WorkloadPid, Marker(lab)))
            {
                throw new InvalidOperationException($"the {pod.Server} workload of pod {pod.Name} exited; see {LabPaths.Log(lab, $"workload-{pod.Name}")}");
            }

            var listening = RunQuiet("ss", "-N", pod.NetworkNamespace, "-Hltn", $"sport = :{pod.Port.ToString(CultureInfo.InvariantCulture)}");
            if (listening.Trim().Length > 0)
            {
                return;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"the {pod.Server} workload of pod {pod.Name} did not listen on port {pod.Port} within 60 s; see {LabPaths.Log(lab, $"workload-{pod.Name}")}");
    }

    private static IReadOnlyList<string> ListNamespaces() =>
        [.. RunQuiet("ip", "netns", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];

    private static string RunQuiet(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
