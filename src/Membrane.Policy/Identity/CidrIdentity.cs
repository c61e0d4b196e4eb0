using Membrane.Policy.Model;

namespace Membrane.Policy.Identity;

/// <summary>
/// Labels of CIDR identities (reference §4.2): <c>cidr:&lt;prefix&gt;</c> plus <c>reserved:world</c>, allocated in the
/// node-local scope. The whole address space (<c>/0</c>) is <c>reserved:world</c> itself, as in Cilium.
/// </summary>
public static class CidrIdentity
{
    /// <summary>The identity labels of <paramref name="prefix"/>.</summary>
    public static LabelSet LabelsFor(IpPrefix prefix) =>
        prefix.IsAll
            ? new LabelSet([ReservedIdentities.WorldLabel])
            : new LabelSet([LabelFor(prefix), ReservedIdentities.WorldLabel]);

    /// <summary>The <c>cidr:</c> label of <paramref name="prefix"/>.</summary>
    public static Label LabelFor(IpPrefix prefix) => new(Label.SourceCidr, prefix.ToString(), "");

    /// <summary>True if <paramref name="labels"/> carries a <c>cidr:</c> label (so it belongs in the local scope).</summary>
    public static bool IsCidrLabelSet(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        foreach (var l in labels)
        {
            if (l.Source == Label.SourceCidr)
            {
                return true;
            }
        }

        return false;
    }
}
