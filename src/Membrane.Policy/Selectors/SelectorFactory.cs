using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Policy.Selectors;

/// <summary>What a list of entities selects: the wildcard (identity 0), or a list of selectors.</summary>
/// <param name="Wildcard">True if one entity was <c>all</c>.</param>
/// <param name="Selectors">Selectors of the other entities.</param>
public sealed record EntitySelection(bool Wildcard, IReadOnlyList<LabelSelector> Selectors);

/// <summary>
/// Turns the selectors written in a policy into <see cref="LabelSelector"/>s with Cilium's scoping
/// (reference §1.3, Cilium <c>utils.go getEndpointSelector</c>): label sources, CNP namespace scoping, CCNP peers,
/// entities and CIDRs.
/// </summary>
public static class SelectorFactory
{
    private const string NamespaceKey = EndpointInfo.NamespaceLabelKey;
    private const string NamespaceLabelsPrefix = "io.cilium.k8s.namespace.labels";

    /// <summary>
    /// Splits a written key into source and key: <c>k8s:app</c> → (k8s, app); <c>app</c> → (any, app);
    /// <c>$host</c> → (reserved, host), as Cilium's <c>GetExtendedKeyFrom</c>.
    /// </summary>
    public static (string Source, string Key) ParseKey(string written)
    {
        ArgumentNullException.ThrowIfNull(written);
        if (written.StartsWith('$'))
        {
            return (Label.SourceReserved, written[1..]);
        }

        var colon = written.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (Label.SourceAny, written) : (colon == 0 ? Label.SourceAny : written[..colon], written[(colon + 1)..]);
    }

    /// <summary>The selector as written, without any scoping.</summary>
    public static LabelSelector FromEndpointSelector(EndpointSelector selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var requirements = new List<LabelRequirement>();
        foreach (var (key, value) in selector.MatchLabels)
        {
            var (source, k) = ParseKey(key);
            requirements.Add(Requirement(source, k, RequirementOperator.In, [value ?? ""]));
        }

        foreach (var e in selector.MatchExpressions)
        {
            var (source, k) = ParseKey(e.Key);
            var op = e.Operator switch
            {
                SelectorOperator.In => RequirementOperator.In,
                SelectorOperator.NotIn => RequirementOperator.NotIn,
                SelectorOperator.Exists => RequirementOperator.Exists,
                _ => RequirementOperator.DoesNotExist,
            };
            requirements.Add(Requirement(source, k, op, op is RequirementOperator.In or RequirementOperator.NotIn ? e.Values : []));
        }

        return new LabelSelector(requirements);
    }

    /// <summary>
    /// The <c>endpointSelector</c> of a rule. For a namespaced policy it always gets
    /// <c>k8s:io.kubernetes.pod.namespace=&lt;namespace&gt;</c>; a namespace the user wrote is replaced (Cilium warns
    /// "EndpointSelector always applies in namespace of the policy resource").
    /// </summary>
    public static LabelSelector Subject(EndpointSelector selector, string? policyNamespace)
    {
        var written = FromEndpointSelector(selector);
        if (policyNamespace is null)
        {
            return written;
        }

        var kept = written.Requirements.Where(r => !(IsK8sOrAny(r.Source) && r.Key == NamespaceKey));
        return new LabelSelector(kept.Append(NamespaceRequirement(policyNamespace)));
    }

    /// <summary>True if the subject selects initializing endpoints (<c>reserved:init</c>): their peers are not scoped.</summary>
    public static bool SelectsInit(LabelSelector subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return subject.Requirements.Any(r => r.Source is Label.SourceReserved or Label.SourceAny && r.Key == "init"
            && r.Operator is RequirementOperator.In or RequirementOperator.Exists);
    }

    /// <summary>
    /// A peer selector (<c>fromEndpoints</c>/<c>toEndpoints</c>). Selectors with a <c>reserved:</c> key are left
    /// alone. Otherwise, unless the selector names <c>io.kubernetes.pod.namespace</c> (source k8s or any) or an
    /// <c>io.cilium.k8s.namespace.labels.*</c> key: a namespaced policy adds its own namespace; a cluster-wide policy
    /// adds <c>io.kubernetes.pod.namespace Exists</c> so that <c>{}</c> means "every pod", not "everything".
    /// </summary>
    public static LabelSelector Peer(EndpointSelector selector, string? policyNamespace, bool subjectSelectsInit)
    {
        var written = FromEndpointSelector(selector);
        if (written.HasReservedKey || subjectSelectsInit || written.HasK8sKey(NamespaceKey, prefix: false))
        {
            return written;
        }

        if (policyNamespace is null)
        {
            return new LabelSelector(written.Requirements.Append(
                new LabelRequirement(Label.SourceK8s, NamespaceKey, RequirementOperator.Exists, [])));
        }

        return written.HasK8sKey(NamespaceLabelsPrefix, prefix: true)
            ? written
            : new LabelSelector(written.Requirements.Append(NamespaceRequirement(policyNamespace)));
    }

    /// <summary>A <c>fromNodes</c>/<c>toNodes</c> selector: node labels, restricted to node identities.</summary>
    public static LabelSelector Node(EndpointSelector selector)
    {
        var written = FromEndpointSelector(selector);
        return new LabelSelector(written.Requirements.Append(
            new LabelRequirement(Label.SourceReserved, "remote-node", RequirementOperator.Exists, [])));
    }

    /// <summary>
    /// Entities (reference §1.6): <c>all</c> is the wildcard; <c>world</c> selects world, world-ipv4 and world-ipv6;
    /// <c>cluster</c> selects the in-cluster reserved identities and every pod of the cluster; <c>none</c> nothing;
    /// the others their reserved identity. Throws <see cref="ArgumentException"/> for an unknown entity.
    /// </summary>
    public static EntitySelection Entities(IEnumerable<string> entities, string clusterName = EndpointInfo.DefaultClusterName)
    {
        ArgumentNullException.ThrowIfNull(entities);
        var wildcard = false;
        var selectors = new List<LabelSelector>();
        foreach (var entity in entities)
        {
            switch (entity)
            {
                case "all":
                    wildcard = true;
                    break;
                case "none":
                    break;
                case "world":
                    selectors.Add(Reserved("world"));
                    selectors.Add(Reserved("world-ipv4"));
                    selectors.Add(Reserved("world-ipv6"));
                    break;
                case "world-ipv4" or "world-ipv6" or "host" or "remote-node" or "kube-apiserver" or "ingress" or "init"
                    or "health" or "unmanaged":
                    selectors.Add(Reserved(entity));
                    break;
                case "cluster":
                    foreach (var name in new[] { "host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver" })
                    {
                        selectors.Add(Reserved(name));
                    }

                    selectors.Add(LabelSelector.ForLabel(new Label(Label.SourceK8s, EndpointInfo.ClusterLabelKey, clusterName)));
                    break;
                default:
                    throw new ArgumentException($"unsupported entity: {entity}", nameof(entities));
            }
        }

        return new EntitySelection(wildcard, [.. selectors.Distinct()]);
    }

    /// <summary>
    /// A CIDR peer: the CIDR identities inside <paramref name="prefix"/> outside every <paramref name="except"/>;
    /// the whole address space also selects <c>reserved:world</c> (and world-ipv4 or world-ipv6), which is what
    /// addresses without a more specific ipcache entry resolve to.
    /// </summary>
    public static IReadOnlyList<LabelSelector> Cidr(IpPrefix prefix, IEnumerable<IpPrefix> except)
    {
        var list = new List<LabelSelector> { LabelSelector.ForCidr(prefix, except) };
        if (prefix.IsAll)
        {
            list.Add(Reserved("world"));
            list.Add(Reserved(prefix.Family == System.Net.Sockets.AddressFamily.InterNetwork ? "world-ipv4" : "world-ipv6"));
        }

        return list;
    }

    private static LabelSelector Reserved(string name) => LabelSelector.ForLabel(ReservedIdentities.LabelOf(name));

    private static LabelRequirement NamespaceRequirement(string ns) =>
        new(Label.SourceK8s, NamespaceKey, RequirementOperator.In, [ns]);

    private static bool IsK8sOrAny(string source) => source is Label.SourceK8s or Label.SourceAny;

    private static LabelRequirement Requirement(string source, string key, RequirementOperator op, IEnumerable<string> values)
    {
        if (source == Label.SourceCidr && op == RequirementOperator.In)
        {
            // matchLabels {cidr:10.0.0.0/8: ""} selects the CIDR identities inside the prefix.
            return new LabelRequirement(source, key, RequirementOperator.Exists, []);
        }

        return new LabelRequirement(source, key, op, [.. values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);
    }
}
