using System.Collections.Immutable;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Policy.Repository;

/// <summary>Why a map-state entry exists: one rule of one policy, or the allow-all of a direction without enforcement.</summary>
/// <param name="Policy">The policy, or null for the allow-all of a non-enforced direction.</param>
/// <param name="RuleFieldPath">The peer rule (<c>spec.ingress[0]</c>), or null.</param>
/// <param name="PortFieldPath">The port rule (<c>spec.ingress[0].toPorts[1]</c>, <c>....icmps[0]</c>), or null for L3-only rules.</param>
/// <param name="Location">Where the rule was written, or null.</param>
/// <param name="Verdict">What the rule asks for: Allow, Deny, or Redirect for L7 rules.</param>
public sealed record RuleAttribution(PolicyRef? Policy, string? RuleFieldPath, string? PortFieldPath, SourceLocation? Location, PolicyVerdict Verdict)
{
    /// <summary><c>default/users (CiliumNetworkPolicy) spec.ingress[0] at users.yaml:12:5</c>.</summary>
    public override string ToString() =>
        Policy is null ? "allow-all: policy enforcement is off in this direction"
            : $"{Policy} {PortFieldPath ?? RuleFieldPath}" + (Location is { } l ? $" at {l}" : "");
}

/// <summary>The policy of one direction of one endpoint: enforcement, default-deny attribution and map state.</summary>
public sealed class DirectionPolicy
{
    internal DirectionPolicy(TrafficDirection direction, bool enforced, ImmutableArray<PolicyRef> defaultDenyBy, ImmutableDictionary<uint, IdentitySlice> slices, int count)
    {
        Direction = direction;
        Enforced = enforced;
        DefaultDenyBy = defaultDenyBy;
        Slices = slices;
        Count = count;
    }

    /// <summary>Ingress or egress.</summary>
    public TrafficDirection Direction { get; }

    /// <summary>True if the direction is in default deny (only what entries allow passes).</summary>
    public bool Enforced { get; }

    /// <summary>The policies that put the endpoint into default deny in this direction (sorted); empty when not enforced.</summary>
    public ImmutableArray<PolicyRef> DefaultDenyBy { get; }

    /// <summary>Number of map entries.</summary>
    public int Count { get; }

    /// <summary>Every entry, ordered by identity then key.</summary>
    public IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> Entries =>
        Slices.OrderBy(s => s.Key).SelectMany(s => s.Value.Entries);

    internal ImmutableDictionary<uint, IdentitySlice> Slices { get; }

    /// <summary>The entry of <paramref name="key"/>, if present.</summary>
    public bool TryGetEntry(PolicyKey key, out PolicyEntry entry)
    {
        if (key.Direction == Direction && Slices.TryGetValue(key.Identity, out var slice))
        {
            foreach (var e in slice.Entries)
            {
                if (e.Key == key)
                {
                    entry = e.Value;
                    return true;
                }
            }
        }

        entry = null!;
        return false;
    }

    /// <summary>The normative lookup (<see cref="MapStateLookup"/>) over this direction's entries.</summary>
    public MapLookupResult Lookup(uint peerIdentity, byte protocol, ushort port)
    {
        var a = Best(peerIdentity, protocol, port);
        var b = Best(0, protocol, port);
        return MapStateLookup.Decide(a, b);
    }

    internal IdentitySlice? Slice(uint identity) => Slices.TryGetValue(identity, out var s) ? s : null;

    private KeyValuePair<PolicyKey, PolicyEntry>? Best(uint identity, byte protocol, ushort port)
    {
        if (!Slices.TryGetValue(identity, out var slice))
        {
            return null;
        }

        KeyValuePair<PolicyKey, PolicyEntry>? best = null;
        foreach (var e in slice.Entries)
        {
            if (MapStateLookup.Covers(e.Key, protocol, port))
            {
                best = MapStateLookup.Longer(best, e);
            }
        }

        return best;
    }
}

/// <summary>
/// The computed policy of one endpoint at one revision: immutable, safe to share across threads. Holds the map state
/// the datapath installs, answers the lookup, explains entries and gives the proxy its L7 rule sets.
/// </summary>
public sealed class EndpointPolicy
{
    private readonly L7RuleSetCache _l7;

    internal EndpointPolicy(EndpointInfo endpoint, NumericIdentity identity, long revision, DirectionPolicy ingress, DirectionPolicy egress, L7RuleSetCache l7)
    {
        Endpoint = endpoint;
        Identity = identity;
        Revision = revision;
        Ingress = ingress;
        Egress = egress;
        _l7 = l7;
    }

    /// <summary>The endpoint.</summary>
    public EndpointInfo Endpoint { get; }

    /// <summary>The endpoint's id.</summary>
    public ushort EndpointId => Endpoint.Id;

    /// <summary>The endpoint's security identity.</summary>
    public NumericIdentity Identity { get; }

    /// <summary>The repository revision this was computed at.</summary>
    public long Revision { get; }

    /// <summary>Ingress policy.</summary>
    public DirectionPolicy Ingress { get; }

    /// <summary>Egress policy.</summary>
    public DirectionPolicy Egress { get; }

    /// <summary>Both directions' entries (ingress first).</summary>
    public IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> Entries => Ingress.Entries.Concat(Egress.Entries);

    /// <summary>The policy of one direction.</summary>
    public DirectionPolicy this[TrafficDirection direction] => direction == TrafficDirection.Ingress ? Ingress : Egress;

    /// <summary>Looks up a packet: <paramref name="peer"/> is the source for ingress, the destination for egress.</summary>
    public MapLookupResult Lookup(TrafficDirection direction, NumericIdentity peer, byte protocol, ushort port) =>
        this[direction].Lookup(peer.Value, protocol, port);

    /// <summary>The rules behind <paramref name="key"/> (empty when the key is not in the map state).</summary>
    public IReadOnlyList<RuleAttribution> Explain(PolicyKey key)
    {
        var slice = this[key.Direction].Slice(key.Identity);
        if (slice is null)
        {
            return [];
        }

        return [.. slice.Contributions.Where(c => c.Key == key).Select(Attribute).Distinct()];
    }

    /// <summary>
    /// The HTTP rules that apply to traffic from/to <paramref name="peer"/> on (<paramref name="protocol"/>,
    /// <paramref name="port"/>): every allow rule covering the peer and port, merged across policies; an allow without
    /// HTTP rules on the same port and peer contributes a match-all rule (reference §2), and so does every L7 policy
    /// when the direction is not in default deny (Cilium #38676). Null when no HTTP rule covers the traffic.
    /// </summary>
    public HttpRuleSet? GetHttpRules(TrafficDirection direction, NumericIdentity peer, byte protocol, ushort port)
    {
        var rules = Collect(direction, peer.Value, protocol, port, L7Protocol.Http, c => c.PortRule!.Http, L7RuleSetCache.HttpMatchAll);
        return rules is null ? null : _l7.GetHttp(rules);
    }

    /// <summary>The Kafka rules for the traffic, merged as <see cref="GetHttpRules"/>; null when no Kafka rule covers it.</summary>
    public KafkaRuleSet? GetKafkaRules(TrafficDirection direction, NumericIdentity peer, byte protocol, ushort port)
    {
        var rules = Collect(direction, peer.Value, protocol, port, L7Protocol.Kafka, c => c.PortRule!.Kafka, L7RuleSetCache.KafkaMatchAll);
        return rules is null ? null : _l7.GetKafka(rules);
    }

    private static RuleAttribution Attribute(Contribution c)
    {
        if (c.PeerRule is not { } p)
        {
            return new RuleAttribution(null, null, null, null, PolicyVerdict.Allow);
        }

        var path = c.PortRule?.FieldPath ?? p.FieldPath;
        var verdict = p.IsDeny ? PolicyVerdict.Deny : c.L7 != L7Protocol.None ? PolicyVerdict.Redirect : PolicyVerdict.Allow;
        return new RuleAttribution(p.Policy, p.FieldPath, c.PortRule?.FieldPath, p.Rule.Policy.Resource.LocationOf(path), verdict);
    }

    private List<(TRule, PolicyRef)>? Collect<TRule>(
        TrafficDirection direction, uint peer, byte protocol, ushort port, L7Protocol l7,
        Func<Contribution, IReadOnlyList<TRule>> rulesOf, TRule matchAll)
        where TRule : class
    {
        var dir = this[direction];
        var specific = new List<(PolicyRef Policy, string Path, int Index, TRule Rule)>();
        var wildcards = new SortedSet<PolicyRef>(PolicyRefComparer.Instance);
        var any = false;
        foreach (var slice in peer == 0 ? [dir.Slice(0)] : new[] { dir.Slice(peer), dir.Slice(0) })
        {
            if (slice is null)
            {
                continue;
            }

            foreach (var c in slice.Contributions)
            {
                if (c.IsDeny || c.Policy is not { } policy || !MapStateLookup.Covers(c.Key, protocol, port))
                {
                    continue;
                }

                if (c.L7 == l7)
                {
                    any = true;
                    var list = rulesOf(c);
                    for (var i = 0; i < list.Count; i++)
                    {
                        specific.Add((policy, c.PortRule!.FieldPath, i, list[i]));
                    }
                }
                else if (c.L7 == L7Protocol.None)
                {
                    wildcards.Add(policy);
                }
            }
        }

        if (!any)
        {
            return null;
        }

        if (!dir.Enforced)
        {
            foreach (var s in specific)
            {
                wildcards.Add(s.Policy);
            }
        }

        var result = new List<(TRule, PolicyRef)>();
        var seen = new HashSet<(TRule, PolicyRef)>();
        foreach (var s in specific
            .OrderBy(s => s.Policy, PolicyRefComparer.Instance)
            .ThenBy(s => s.Path, StringComparer.Ordinal)
            .ThenBy(s => s.Index))
        {
            if (seen.Add((s.Rule, s.Policy)))
            {
                result.Add((s.Rule, s.Policy));
            }
        }

        foreach (var w in wildcards)
        {
            if (seen.Add((matchAll, w)))
            {
                result.Add((matchAll, w));
            }
        }

        return result;
    }
}
