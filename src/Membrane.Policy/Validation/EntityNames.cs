namespace Membrane.Policy.Validation;

/// <summary>The entities of <c>fromEntities</c>/<c>toEntities</c>: the CRD enum of Cilium 1.19 (reference §1.6).</summary>
internal static class EntityNames
{
    public static readonly string[] All =
        ["all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"];

    public static string? Check(string entity) =>
        All.Contains(entity) ? null : $"unsupported entity: {entity}" + Suggestions.Hint(entity, All);
}
