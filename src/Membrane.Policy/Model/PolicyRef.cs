namespace Membrane.Policy.Model;

/// <summary>
/// Names one policy resource, for attribution in traces, map state, flows and L7 verdicts
/// (Hubble's <c>flow.Policy</c>: kind, namespace, name). <see cref="Namespace"/> is null for
/// cluster-wide kinds.
/// </summary>
/// <param name="Kind"><c>CiliumNetworkPolicy</c>, <c>CiliumClusterwideNetworkPolicy</c> or <c>NetworkPolicy</c>.</param>
/// <param name="Namespace">Namespace of a namespaced policy; null for cluster-wide ones.</param>
/// <param name="Name">The resource's <c>metadata.name</c>.</param>
public sealed record PolicyRef(string Kind, string? Namespace, string Name)
{
    /// <summary><c>namespace/name</c>, or <c>name</c> for cluster-wide policies.</summary>
    public string QualifiedName => Namespace is null ? Name : $"{Namespace}/{Name}";

    /// <inheritdoc />
    public override string ToString() => $"{QualifiedName} ({Kind})";
}
