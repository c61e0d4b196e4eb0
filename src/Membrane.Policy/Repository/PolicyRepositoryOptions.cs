using Membrane.Policy.Endpoints;

namespace Membrane.Policy.Repository;

/// <summary>Cilium's policy enforcement modes (<c>--enable-policy</c>, reference §4.5).</summary>
public enum PolicyEnforcementMode
{
    /// <summary>A direction is enforced once a rule selecting the endpoint has rules in it (and default deny on).</summary>
    Default,

    /// <summary>Both directions are always enforced, even without rules.</summary>
    Always,

    /// <summary>Nothing is enforced: every map state is allow-all.</summary>
    Never,
}

/// <summary>Settings of a <see cref="PolicyRepository"/>.</summary>
public sealed record PolicyRepositoryOptions
{
    /// <summary>The local cluster's name (the <c>cluster</c> entity and <c>io.cilium.k8s.policy.cluster</c>).</summary>
    public string ClusterName { get; init; } = EndpointInfo.DefaultClusterName;

    /// <summary>The enforcement mode.</summary>
    public PolicyEnforcementMode EnforcementMode { get; init; } = PolicyEnforcementMode.Default;
}
