using Membrane.Policy.Model;

namespace Membrane.Policy.Identity;

/// <summary>
/// Cilium's default identity-relevant label filter (reference §1.3, <c>pkg/labelsfilter</c>): a label is kept unless an
/// ignore prefix matches its key, or when a keep prefix matches with a longer match than every ignore prefix.
/// Reserved labels are always kept.
/// </summary>
public static class IdentityLabelFilter
{
    private static readonly string[] Keep =
    [
        "io.kubernetes.pod.namespace",
        "io.cilium.k8s.namespace.labels",
        "app.kubernetes.io",
        "io.cilium.k8s.policy.cluster",
        "io.cilium.k8s.policy.serviceaccount",
    ];

    private static readonly string[] IgnorePrefixes =
    [
        "io.kubernetes",
        "kubernetes.io",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/job-completion-index",
        "batch.kubernetes.io/controller-uid",
        "k8s.io",
        "pod-template-generation",
        "pod-template-hash",
        "controller-revision-hash",
        "controller-uid",
        "annotation.",
        "etcd_node",
        "topology.kubernetes.io",
    ];

    /// <summary>True if a label with this key and source takes part in identity allocation.</summary>
    public static bool IsIdentityRelevant(Label label)
    {
        if (label.Source == Label.SourceReserved)
        {
            return true;
        }

        var ignored = Longest(label.Key, IgnorePrefixes);
        // Cilium's default list spells this one as a pattern: any "*beta.kubernetes.io" key.
        if (label.Key.Contains("beta.kubernetes.io", StringComparison.Ordinal))
        {
            ignored = Math.Max(ignored, label.Key.IndexOf("beta.kubernetes.io", StringComparison.Ordinal) + "beta.kubernetes.io".Length);
        }

        return ignored == 0 || Longest(label.Key, Keep) > ignored;
    }

    /// <summary>The identity-relevant subset of <paramref name="labels"/>.</summary>
    public static LabelSet Filter(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return new LabelSet(labels.Where(IsIdentityRelevant));
    }

    private static int Longest(string key, string[] prefixes)
    {
        var best = 0;
        foreach (var p in prefixes)
        {
            if (p.Length > best && key.StartsWith(p, StringComparison.Ordinal))
            {
                best = p.Length;
            }
        }

        return best;
    }
}
