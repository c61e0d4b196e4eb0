using System.Collections.Immutable;
using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Selectors;

namespace Membrane.Policy.Repository;

/// <summary>One resolved port block of a port rule: protocol, port (or ICMP type) and prefix length.</summary>
internal readonly record struct PortSpec(byte Protocol, ushort Port, byte PrefixLength);

/// <summary>A named port of a port rule, resolved per endpoint (ingress) or per peer identity (egress).</summary>
internal readonly record struct NamedPortRef(string Name, byte Protocol);

/// <summary>
/// One <c>toPorts[]</c> entry (or the <c>icmps</c> of a rule) after compilation: the numeric port blocks, the named
/// ports still to resolve, and the L7 rules that send matching traffic to the proxy.
/// </summary>
internal sealed class CompiledPortRule(
    string fieldPath,
    ImmutableArray<PortSpec> ports,
    ImmutableArray<NamedPortRef> namedPorts,
    L7Protocol l7,
    IReadOnlyList<HttpRule> http,
    IReadOnlyList<KafkaRule> kafka,
    bool unenforceableL7)
{
    public string FieldPath { get; } = fieldPath;

    public ImmutableArray<PortSpec> Ports { get; } = ports;

    public ImmutableArray<NamedPortRef> NamedPorts { get; } = namedPorts;

    public L7Protocol L7 { get; } = l7;

    /// <summary>HTTP rules when <see cref="L7"/> is HTTP; an empty list in the policy became one match-all rule.</summary>
    public IReadOnlyList<HttpRule> Http { get; } = http;

    /// <summary>Kafka rules when <see cref="L7"/> is Kafka.</summary>
    public IReadOnlyList<KafkaRule> Kafka { get; } = kafka;

    /// <summary>L7 rules Membrane cannot enforce (DNS, generic l7proto): the port rule opens nothing (fail closed).</summary>
    public bool UnenforceableL7 { get; } = unenforceableL7;
}

/// <summary>
/// One ingress, ingressDeny, egress or egressDeny entry after compilation: which peers (the wildcard, or cached
/// selectors), and which ports (null: every protocol, an L3-only rule).
/// </summary>
internal sealed class CompiledPeerRule(
    CompiledRule rule,
    TrafficDirection direction,
    bool isDeny,
    string fieldPath,
    bool wildcardPeer,
    ImmutableArray<LabelSelector> peerSelectors,
    ImmutableArray<CompiledPortRule>? portRules)
{
    private CachedSelector[] _peers = [];

    public CompiledRule Rule { get; } = rule;

    public PolicyRef Policy => Rule.Policy.Ref;

    public TrafficDirection Direction { get; } = direction;

    public bool IsDeny { get; } = isDeny;

    public string FieldPath { get; } = fieldPath;

    /// <summary>True if the rule's peer is every identity (identity 0 in the map).</summary>
    public bool WildcardPeer { get; } = wildcardPeer;

    public ImmutableArray<LabelSelector> PeerSelectors { get; } = peerSelectors;

    /// <summary>The port rules; null for an L3-only rule (protocol 0).</summary>
    public ImmutableArray<CompiledPortRule>? PortRules { get; } = portRules;

    public bool UsesNamedPorts { get; } = portRules is { } prs && prs.Any(p => !p.NamedPorts.IsEmpty);

    public IReadOnlyList<CachedSelector> Peers => _peers;

    /// <summary>True if the rule produces entries for <paramref name="identity"/> (0: the wildcard key).</summary>
    public bool Selects(uint identity)
    {
        if (identity == 0)
        {
            return WildcardPeer;
        }

        if (WildcardPeer)
        {
            return false;
        }

        foreach (var p in _peers)
        {
            if (p.Selects(identity))
            {
                return true;
            }
        }

        return false;
    }

    internal void Attach(CachedSelector[] peers) => _peers = peers;
}

/// <summary>One <c>spec</c>/<c>specs[i]</c> rule after compilation.</summary>
internal sealed class CompiledRule(CompiledPolicy policy, string fieldPath, LabelSelector? subject, bool hasIngress, bool hasEgress, bool defaultDenyIngress, bool defaultDenyEgress)
{
    public CompiledPolicy Policy { get; } = policy;

    public string FieldPath { get; } = fieldPath;

    /// <summary>The scoped endpoint selector; null for node-selector (host) rules, which select no endpoint.</summary>
    public LabelSelector? Subject { get; } = subject;

    public CachedSelector? SubjectSelector { get; private set; }

    public bool HasIngress { get; } = hasIngress;

    public bool HasEgress { get; } = hasEgress;

    /// <summary>True if endpoints this rule selects go into default deny at ingress (Cilium: rules in the direction and enableDefaultDeny not false).</summary>
    public bool DefaultDenyIngress { get; } = defaultDenyIngress;

    /// <summary>Same for egress.</summary>
    public bool DefaultDenyEgress { get; } = defaultDenyEgress;

    public ImmutableArray<CompiledPeerRule> Ingress { get; internal set; } = [];

    public ImmutableArray<CompiledPeerRule> Egress { get; internal set; } = [];

    public bool Has(TrafficDirection d) => d == TrafficDirection.Ingress ? HasIngress : HasEgress;

    public bool DefaultDeny(TrafficDirection d) => d == TrafficDirection.Ingress ? DefaultDenyIngress : DefaultDenyEgress;

    public ImmutableArray<CompiledPeerRule> PeerRules(TrafficDirection d) => d == TrafficDirection.Ingress ? Ingress : Egress;

    public bool SelectsEndpoint(uint identity) => SubjectSelector is { } s && s.Selects(identity);

    internal void AttachSubject(CachedSelector? subject) => SubjectSelector = subject;
}

/// <summary>One policy resource after compilation: its rules, the CIDR prefixes it needs identities for, and warnings.</summary>
internal sealed class CompiledPolicy(PolicyResource resource)
{
    private readonly PolicyEntry?[] _entries = new PolicyEntry?[9];

    public PolicyResource Resource { get; } = resource;

    public PolicyRef Ref => Resource.Ref;

    public ImmutableArray<CompiledRule> Rules { get; internal set; } = [];

    public ImmutableArray<IpPrefix> Prefixes { get; internal set; } = [];

    public ImmutableArray<PolicyError> Warnings { get; internal set; } = [];

    public IEnumerable<CompiledPeerRule> PeerRules => Rules.SelectMany(r => r.Ingress.Concat(r.Egress));

    /// <summary>The (shared) entry with this verdict and engine attributed to this policy alone.</summary>
    public PolicyEntry Entry(PolicyVerdict verdict, L7Protocol l7)
    {
        var i = ((int)verdict * 3) + (int)l7;
        return _entries[i] ??= new PolicyEntry(verdict, l7, [Ref]);
    }
}
