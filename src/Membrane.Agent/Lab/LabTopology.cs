using System.Net;

namespace Membrane.Agent.Lab;

/// <summary>The workload a lab pod runs (see docs/lab.md).</summary>
public enum LabServerKind
{
    /// <summary>No server: a client-only pod.</summary>
    None,

    /// <summary>HTTP echo server with the seed's users API, on port 80 by default.</summary>
    Http,

    /// <summary>gRPC <c>com.example.catalog.ProductService</c> on h2c, port 50051 by default.</summary>
    Grpc,

    /// <summary>A Kafka-protocol broker (librdkafka's mock cluster), port 9092 by default.</summary>
    Kafka,
}

/// <summary>A pod of the lab: a network namespace with one veth, an address, labels and optionally a server.</summary>
/// <param name="Name">Pod name (DNS-1123 label).</param>
/// <param name="Namespace">Kubernetes-style namespace.</param>
/// <param name="Labels">Pod labels (without source; they become <c>k8s:</c> labels).</param>
/// <param name="Aliases">Extra host names that resolve to this pod inside every pod (service aliases).</param>
/// <param name="Server">The workload to run.</param>
/// <param name="Port">The server's port (0 when <see cref="Server"/> is None).</param>
/// <param name="Address">The pod's IPv4 address (/32).</param>
public sealed record LabPod(
    string Name,
    string Namespace,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<string> Aliases,
    LabServerKind Server,
    int Port,
    IPAddress Address)
{
    /// <summary><c>namespace/name</c>.</summary>
    public string QualifiedName => $"{Namespace}/{Name}";
}

/// <summary>A validated lab topology: namespaces, pods and addresses. Built by <see cref="LabTopologyParser"/>.</summary>
/// <param name="Name">Lab name (used in namespace and interface names).</param>
/// <param name="PodCidr">The pod address range; its first address is the node's router address.</param>
/// <param name="NamespaceLabels">Labels of each namespace.</param>
/// <param name="Pods">Every pod, in file order.</param>
public sealed record LabTopology(
    string Name,
    (IPAddress Network, int PrefixLength) PodCidr,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> NamespaceLabels,
    IReadOnlyList<LabPod> Pods)
{
    /// <summary>The node's router address (first host address of the pod range), the pods' gateway.</summary>
    public IPAddress RouterAddress => LabTopologyParser.AddressAt(PodCidr.Network, 1);

    /// <summary>Finds a pod by <c>name</c> (unique across namespaces) or <c>namespace/name</c>.</summary>
    public LabPod? FindPod(string nameOrQualified)
    {
        var slash = nameOrQualified.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            return Pods.FirstOrDefault(p => p.QualifiedName == nameOrQualified);
        }

        var matches = Pods.Where(p => p.Name == nameOrQualified || p.Aliases.Contains(nameOrQualified)).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }
}
