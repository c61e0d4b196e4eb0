using System.Globalization;
using Membrane.Policy.Model;

namespace Membrane.Observer.Flows;

/// <summary>
/// A policy named by a flow's <c>egress_allowed_by</c>, <c>ingress_allowed_by</c>, <c>egress_denied_by</c> or
/// <c>ingress_denied_by</c> (Hubble's <c>flow.Policy{name, namespace, labels, revision, kind}</c>).
/// </summary>
/// <remarks>
/// <para>Default deny is attributed too (reference §8 #14): when no rule allows traffic in a direction that has policy
/// enforcement, the <c>*_denied_by</c> list holds the policies that selected the endpoint and so put that direction into
/// default deny, each with <see cref="DefaultDeny"/> set. In Hubble's JSON this appears only through existing fields:
/// the entry carries the extra label <see cref="DefaultDenyLabel"/> and the flow's <c>drop_reason_desc</c> is
/// <c>POLICY_DENIED</c> (an explicit deny rule gives <c>POLICY_DENY</c> and entries without the label).</para>
/// <para>When enforcement comes from the agent's enforcement mode rather than from a policy (no policy selects the
/// endpoint), the entry is <see cref="EnforcementModeAlways"/>.</para>
/// <para>Instances are immutable and meant to be interned by the agent (one per policy revision), so writing a flow
/// allocates nothing.</para>
/// </remarks>
public sealed class FlowPolicy
{
    /// <summary>The label that marks a default-deny attribution (value-less, source <c>membrane</c>).</summary>
    public const string DefaultDenyLabel = "membrane:default-deny";

    /// <summary>Kind of the synthetic entry for enforcement without a policy.</summary>
    public const string MembraneKind = "Membrane";

    /// <summary>Creates an entry for a policy at a repository revision.</summary>
    /// <param name="policy">The policy resource.</param>
    /// <param name="revision">Policy repository revision when the flow was observed.</param>
    /// <param name="defaultDeny">True when this policy is named because it put the endpoint into default deny.</param>
    public FlowPolicy(PolicyRef policy, ulong revision, bool defaultDeny = false)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
        Revision = revision;
        DefaultDeny = defaultDeny;
        Labels = BuildLabels(policy, defaultDeny);
    }

    /// <summary>
    /// Creates an entry with the labels as read from a flow (e.g. Hubble JSON); <see cref="DefaultDeny"/> is set when
    /// they contain <see cref="DefaultDenyLabel"/>.
    /// </summary>
    public FlowPolicy(PolicyRef policy, ulong revision, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(labels);
        Policy = policy;
        Revision = revision;
        Labels = [.. labels];
        DefaultDeny = labels.Contains(DefaultDenyLabel);
    }

    /// <summary>The policy resource.</summary>
    public PolicyRef Policy { get; }

    /// <summary>Hubble <c>name</c>.</summary>
    public string Name => Policy.Name;

    /// <summary>Hubble <c>namespace</c>; null for cluster-wide policies.</summary>
    public string? Namespace => Policy.Namespace;

    /// <summary>Hubble <c>kind</c> (<c>CiliumNetworkPolicy</c>, <c>CiliumClusterwideNetworkPolicy</c>, <c>NetworkPolicy</c>).</summary>
    public string Kind => Policy.Kind;

    /// <summary>Hubble <c>revision</c>: the policy repository revision.</summary>
    public ulong Revision { get; }

    /// <summary>True when the policy is named because it put the endpoint into default deny (no rule of it matched).</summary>
    public bool DefaultDeny { get; }

    /// <summary>
    /// Hubble <c>labels</c>, as Cilium derives them from the resource (<c>k8s:io.cilium.k8s.policy.derived-from=…</c>,
    /// <c>…name=…</c>, <c>…namespace=…</c>), plus <see cref="DefaultDenyLabel"/> for default-deny entries.
    /// </summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// The entry for a direction in default deny because the agent enforces policy on every endpoint
    /// (<c>policyEnforcement: always</c>) while no policy selects it.
    /// </summary>
    public static FlowPolicy EnforcementModeAlways(ulong revision) =>
        new(new PolicyRef(MembraneKind, null, "policy-enforcement-always"), revision, defaultDeny: true);

    /// <summary><c>namespace/name (Kind)</c>, with <c>, default deny</c> for default-deny entries.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Policy.QualifiedName} ({Kind}{(DefaultDeny ? ", default deny" : "")})");

    private static string[] BuildLabels(PolicyRef policy, bool defaultDeny)
    {
        var labels = new List<string>(4)
        {
            $"k8s:io.cilium.k8s.policy.derived-from={policy.Kind}",
            $"k8s:io.cilium.k8s.policy.name={policy.Name}",
        };
        if (policy.Namespace is not null)
        {
            labels.Add($"k8s:io.cilium.k8s.policy.namespace={policy.Namespace}");
        }

        if (defaultDeny)
        {
            labels.Add(DefaultDenyLabel);
        }

        return [.. labels];
    }
}
