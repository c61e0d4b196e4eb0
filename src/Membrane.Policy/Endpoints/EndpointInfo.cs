using System.Net;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Policy.Endpoints;

/// <summary>A named container port (Kubernetes <c>ports[].name</c>), the target of named ports in policies.</summary>
/// <param name="Name">Port name, lower case (IANA service name syntax).</param>
/// <param name="Port">Port number.</param>
/// <param name="Protocol">IP protocol number (6 TCP, 17 UDP, 132 SCTP).</param>
public sealed record NamedPort(string Name, ushort Port, byte Protocol);

/// <summary>
/// A local workload whose traffic Membrane enforces: what Cilium calls an endpoint. Its identity labels are its
/// identity-relevant pod labels plus <c>k8s:io.kubernetes.pod.namespace</c>, <c>k8s:io.cilium.k8s.policy.cluster</c>,
/// the namespace's labels as <c>k8s:io.cilium.k8s.namespace.labels.*</c> and the service account when known.
/// </summary>
/// <param name="Id">Endpoint id (names the endpoint's policy map).</param>
/// <param name="PodName">Pod name.</param>
/// <param name="Namespace">Namespace.</param>
/// <param name="Labels">Pod labels (source <c>k8s</c> unless written otherwise).</param>
/// <param name="IPv4">The endpoint's IPv4 address, or null while it has none.</param>
/// <param name="NamedPorts">Named container ports.</param>
public sealed record EndpointInfo(
    ushort Id,
    string PodName,
    string Namespace,
    LabelSet Labels,
    IPAddress? IPv4,
    IReadOnlyList<NamedPort> NamedPorts)
{
    /// <summary>Label key of the pod's namespace.</summary>
    public const string NamespaceLabelKey = "io.kubernetes.pod.namespace";

    /// <summary>Label key of the cluster name.</summary>
    public const string ClusterLabelKey = "io.cilium.k8s.policy.cluster";

    /// <summary>Label key of the pod's service account.</summary>
    public const string ServiceAccountLabelKey = "io.cilium.k8s.policy.serviceaccount";

    /// <summary>Key prefix of namespace labels copied onto pods.</summary>
    public const string NamespaceLabelsPrefix = "io.cilium.k8s.namespace.labels.";

    /// <summary>Name of the local cluster, as Cilium's default <c>cluster-name</c>.</summary>
    public const string DefaultClusterName = "default";

    /// <summary>Labels of the pod's namespace, copied into the identity as <c>io.cilium.k8s.namespace.labels.*</c>.</summary>
    public LabelSet NamespaceLabels { get; init; } = LabelSet.Empty;

    /// <summary>The pod's service account, or null.</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>The cluster the endpoint belongs to.</summary>
    public string ClusterName { get; init; } = DefaultClusterName;

    /// <summary>The labels its security identity is allocated from.</summary>
    public LabelSet IdentityLabels
    {
        get
        {
            var labels = IdentityLabelFilter.Filter(Labels).ToList();
            labels.Add(new Label(Label.SourceK8s, NamespaceLabelKey, Namespace));
            labels.Add(new Label(Label.SourceK8s, ClusterLabelKey, ClusterName));
            if (!string.IsNullOrEmpty(ServiceAccount))
            {
                labels.Add(new Label(Label.SourceK8s, ServiceAccountLabelKey, ServiceAccount));
            }

            foreach (var l in NamespaceLabels)
            {
                labels.Add(new Label(Label.SourceK8s, NamespaceLabelsPrefix + l.Key, l.Value));
            }

            return new LabelSet(labels);
        }
    }

    /// <summary><c>namespace/pod</c>.</summary>
    public string QualifiedName => $"{Namespace}/{PodName}";
}
