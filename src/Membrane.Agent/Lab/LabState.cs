using System.Text.Json;
using System.Text.Json.Serialization;

namespace Membrane.Agent.Lab;

/// <summary>One pod of a running lab, as recorded for <c>lab status</c>, <c>lab exec</c> and <c>lab down</c>.</summary>
/// <param name="Name">Pod name.</param>
/// <param name="Namespace">Kubernetes-style namespace.</param>
/// <param name="NetworkNamespace">The pod's network namespace name (<c>ip netns</c>).</param>
/// <param name="HostInterface">Host-side veth in the node namespace.</param>
/// <param name="Address">Pod IPv4 address.</param>
/// <param name="Aliases">Service aliases.</param>
/// <param name="Server">Workload kind (<c>http</c>, <c>grpc</c>, <c>kafka</c>, <c>none</c>).</param>
/// <param name="Port">Workload port, or 0.</param>
/// <param name="EndpointId">The agent's endpoint id, or 0 before registration.</param>
/// <param name="WorkloadPid">PID of the workload process, or 0.</param>
public sealed record LabPodState(
    string Name,
    string Namespace,
    string NetworkNamespace,
    string HostInterface,
    string Address,
    IReadOnlyList<string> Aliases,
    string Server,
    int Port,
    int EndpointId,
    int WorkloadPid);

/// <summary>What <c>lab up</c> created, persisted under <see cref="LabPaths.StateFile"/> so that later commands and
/// <c>lab down</c> find and remove exactly it.</summary>
/// <param name="Name">Lab name (also the agent instance name).</param>
/// <param name="Prefix">Prefix of every namespace and interface name.</param>
/// <param name="TopologyFile">Absolute path of the topology file.</param>
/// <param name="NodeNamespace">The node network namespace.</param>
/// <param name="RouterAddress">The pods' gateway on the node's loopback.</param>
/// <param name="AgentPid">PID of the agent, or 0.</param>
/// <param name="Pods">The pods.</param>
/// <param name="CreatedUtc">When <c>lab up</c> started.</param>
public sealed record LabState(
    string Name,
    string Prefix,
    string TopologyFile,
    string NodeNamespace,
    string RouterAddress,
    int AgentPid,
    IReadOnlyList<LabPodState> Pods,
    DateTimeOffset CreatedUtc)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Finds a pod by name, alias or <c>namespace/name</c>.</summary>
    public LabPodState? FindPod(string name) =>
        Pods.FirstOrDefault(p => p.Name == name || $"{p.Namespace}/{p.Name}" == name)
        ?? Pods.FirstOrDefault(p => p.Aliases.Contains(name));

    /// <summary>Writes the state atomically (temp file + rename).</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this, Json));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a saved state, or null if there is none.</summary>
    public static LabState? Load(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<LabState>(File.ReadAllText(path), Json) : null;
}

/// <summary>Where a lab keeps its state, logs and the agent's state directory.</summary>
public static class LabPaths
{
    /// <summary>Root of every lab's runtime files.</summary>
    public const string Root = "/run/membrane/lab";

    /// <summary>The directory of lab <paramref name="name"/>.</summary>
    public static string Directory(string name) => Path.Combine(Root, name);

    /// <summary>The lab's state file.</summary>
    public static string StateFile(string name) => Path.Combine(Directory(name), "lab.json");

    /// <summary>Log file of a lab process (<c>agent</c> or a pod's workload).</summary>
    public static string Log(string name, string process) => Path.Combine(Directory(name), $"{process}.log");

    /// <summary>Names of labs with a state file.</summary>
    public static IReadOnlyList<string> RunningLabs() =>
        System.IO.Directory.Exists(Root)
            ? [.. System.IO.Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "lab.json"))).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
}
