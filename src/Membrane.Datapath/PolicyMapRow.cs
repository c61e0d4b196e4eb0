using System.Collections.Immutable;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath;

/// <summary>One entry of an endpoint's policy map as the kernel holds it (<c>membrane bpf policy get</c>).</summary>
/// <param name="Key">The map-state key.</param>
/// <param name="Verdict">Allow, deny or redirect.</param>
/// <param name="L7">L7 protocol of a redirect.</param>
/// <param name="ProxyPort">Proxy listener port of a redirect, else 0.</param>
/// <param name="Cookie">The policy cookie stored in the entry.</param>
/// <param name="Policies">The policies the cookie names (empty when unknown to this process).</param>
public sealed record PolicyMapRow(
    PolicyKey Key,
    PolicyVerdict Verdict,
    L7Protocol L7,
    ushort ProxyPort,
    uint Cookie,
    ImmutableArray<PolicyRef> Policies);
