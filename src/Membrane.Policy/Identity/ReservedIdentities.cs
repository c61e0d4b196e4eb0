using Membrane.Policy.Model;

namespace Membrane.Policy.Identity;

/// <summary>
/// Cilium's reserved identities 1–10 and their labels (reference §4.1): each is the single label
/// <c>reserved:&lt;name&gt;</c>. A label set made of one reserved label resolves to its reserved number.
/// </summary>
public static class ReservedIdentities
{
    private static readonly NumericIdentity[] All =
    [
        NumericIdentity.Host, NumericIdentity.World, NumericIdentity.Unmanaged, NumericIdentity.Health,
        NumericIdentity.Init, NumericIdentity.RemoteNode, NumericIdentity.KubeApiServer, NumericIdentity.Ingress,
        NumericIdentity.WorldIPv4, NumericIdentity.WorldIPv6,
    ];

    private static readonly Dictionary<string, NumericIdentity> ByName =
        All.ToDictionary(id => id.ReservedName!, id => id, StringComparer.Ordinal);

    private static readonly Dictionary<uint, LabelSet> LabelsById =
        All.ToDictionary(id => id.Value, id => new LabelSet([LabelOf(id.ReservedName!)]));

    /// <summary>The reserved identities with their labels, in numeric order.</summary>
    public static IEnumerable<KeyValuePair<NumericIdentity, LabelSet>> Identities =>
        All.Select(id => KeyValuePair.Create(id, LabelsById[id.Value]));

    /// <summary><c>reserved:world</c>.</summary>
    public static Label WorldLabel { get; } = LabelOf("world");

    /// <summary>The label <c>reserved:&lt;name&gt;</c>.</summary>
    public static Label LabelOf(string name) => new(Label.SourceReserved, name, "");

    /// <summary>The labels of reserved identity <paramref name="id"/>; false for non-reserved numbers.</summary>
    public static bool TryGetLabels(NumericIdentity id, out LabelSet labels) => LabelsById.TryGetValue(id.Value, out labels!);

    /// <summary>The reserved identity named <paramref name="name"/> (<c>host</c>, <c>world</c>, ...).</summary>
    public static bool TryGetByName(string name, out NumericIdentity id) => ByName.TryGetValue(name, out id);

    /// <summary>The reserved identity for a label set made of exactly one known reserved label.</summary>
    public static bool TryGetByLabels(LabelSet labels, out NumericIdentity id)
    {
        ArgumentNullException.ThrowIfNull(labels);
        id = NumericIdentity.Any;
        return labels.Count == 1 && labels[0].Source == Label.SourceReserved && labels[0].Value.Length == 0
            && ByName.TryGetValue(labels[0].Key, out id);
    }
}
