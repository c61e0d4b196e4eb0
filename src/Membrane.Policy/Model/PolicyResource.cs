namespace Membrane.Policy.Model;

/// <summary>The resource kinds Membrane reads.</summary>
public enum PolicyKind
{
    /// <summary><c>cilium.io/v2</c> CiliumNetworkPolicy (namespaced).</summary>
    CiliumNetworkPolicy,

    /// <summary><c>cilium.io/v2</c> CiliumClusterwideNetworkPolicy.</summary>
    CiliumClusterwideNetworkPolicy,

    /// <summary><c>networking.k8s.io/v1</c> NetworkPolicy (namespaced), translated onto <see cref="PolicyRule"/>.</summary>
    NetworkPolicy,
}

/// <summary>
/// One parsed policy resource: metadata and its rules (<c>spec</c> first, then each of <c>specs</c>; a Kubernetes
/// NetworkPolicy is translated into one rule). Rules are as written: namespace scoping is applied by the semantic
/// layer, not here. <see cref="Locations"/> maps field paths (<c>spec.ingress[0].toPorts[0]</c>) to where they were
/// written, so later stages can report errors with file:line:column.
/// </summary>
/// <param name="Kind">Resource kind.</param>
/// <param name="Name"><c>metadata.name</c>.</param>
/// <param name="Namespace"><c>metadata.namespace</c> for namespaced kinds (default <c>default</c>); null for cluster-wide.</param>
/// <param name="Rules">The rules, in document order.</param>
/// <param name="Source">Where the resource starts.</param>
/// <param name="Locations">Field path → location of every field that was written.</param>
public sealed record PolicyResource(
    PolicyKind Kind,
    string Name,
    string? Namespace,
    IReadOnlyList<PolicyRule> Rules,
    SourceLocation Source,
    IReadOnlyDictionary<string, SourceLocation> Locations)
{
    /// <summary>The attribution reference of this resource.</summary>
    public PolicyRef Ref { get; } = new(Kind.ToString(), Namespace, Name);

    /// <summary>Location of <paramref name="fieldPath"/>, or of its closest written parent, or of the resource.</summary>
    public SourceLocation LocationOf(string fieldPath)
    {
        for (var path = fieldPath; path.Length > 0; path = Parent(path))
        {
            if (Locations.TryGetValue(path, out var loc))
            {
                return loc;
            }
        }

        return Source;

        static string Parent(string p)
        {
            var cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            return cut <= 0 ? "" : p[..cut];
        }
    }
}
