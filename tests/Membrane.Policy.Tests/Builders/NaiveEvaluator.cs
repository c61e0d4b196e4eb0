using System.Globalization;
using Membrane.Policy.Endpoints;
using Membrane.Policy.L7;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Selectors;

namespace Membrane.Policy.Tests.Builders;

/// <summary>
/// Evaluates traffic directly against the policy rules, with no map state, no selector cache and no lookup: the
/// reference the property tests compare the engine with. Semantics: a deny rule covering the traffic drops it (181);
/// otherwise a direction without default deny passes everything; otherwise an allow rule covering it passes it, and
/// nothing else does (133). At L7 a request passes if some covering allow rule has no HTTP rules or an HTTP rule
/// matching it, or when the direction is not in default deny.
/// </summary>
internal sealed class NaiveEvaluator(IReadOnlyList<PolicyResource> policies, IReadOnlyList<EndpointInfo> endpoints)
{
    // Memoized only for speed: every value is a pure function of its key.
    private readonly Dictionary<(EndpointInfo, TrafficDirection), (bool Enforced, List<Peer> Peers)> _rules = [];
    private readonly Dictionary<(EndpointSelector, string?, bool), LabelSelector> _peerSelectors = new();
    private readonly Dictionary<(Peer, LabelSet), bool> _peerMatches = [];

    public (bool Allowed, PolicyDropReason Reason, bool? HttpAllowed) Evaluate(
        EndpointInfo endpoint, TrafficDirection direction, LabelSet peer, byte protocol, ushort port, string? method = null)
    {
        if (!_rules.TryGetValue((endpoint, direction), out var cached))
        {
            var rules = Selecting(endpoint).ToList();
            cached = (
                rules.Any(r => Has(r.Rule, direction) && (direction == TrafficDirection.Ingress ? r.Rule.EnableDefaultDeny?.Ingress : r.Rule.EnableDefaultDeny?.Egress) != false),
                rules.SelectMany(r => PeerRules(r.Policy, r.Rule, direction)).ToList());
            _rules[(endpoint, direction)] = cached;
        }

        var (enforced, peerRules) = cached;
        if (peerRules.Any(p => p.Deny && PeerMatches(p, peer) && PortMatches(p, endpoint, direction, peer, protocol, port, out _)))
        {
            return (false, PolicyDropReason.PolicyDenyList, false);
        }

        var covering = peerRules.Where(p => !p.Deny && PeerMatches(p, peer)).SelectMany(p =>
            PortMatches(p, endpoint, direction, peer, protocol, port, out var matched) ? matched : []).ToList();
        if (!enforced)
        {
            return (true, PolicyDropReason.None, true);
        }

        if (covering.Count == 0)
        {
            return (false, PolicyDropReason.PolicyDenied, false);
        }

        bool? http = method is null
            ? null
            : covering.Any(pr => pr?.Rules?.Http is not { } h || h.Count == 0 || h.Any(r => HttpMatches(r, method)));
        return (true, PolicyDropReason.None, http);
    }

    private static bool Has(PolicyRule r, TrafficDirection d) => d == TrafficDirection.Ingress
        ? (r.Ingress?.Count ?? 0) + (r.IngressDeny?.Count ?? 0) > 0
        : (r.Egress?.Count ?? 0) + (r.EgressDeny?.Count ?? 0) > 0;

    private static string? Namespace(PolicyResource p) => p.Kind == PolicyKind.CiliumClusterwideNetworkPolicy ? null : p.Namespace;

    private static bool HttpMatches(Membrane.Policy.L7.Http.HttpRule rule, string method) =>
        (string.IsNullOrEmpty(rule.Method) || PolicyRegex.Create(rule.Method).IsMatch(method))
        && (string.IsNullOrEmpty(rule.Path) || PolicyRegex.Create(rule.Path).IsMatch("/"));

    private static IEnumerable<Peer> PeerRules(PolicyResource p, PolicyRule r, TrafficDirection d)
    {
        var subject = SelectorFactory.Subject(r.EndpointSelector!, Namespace(p));
        var init = SelectorFactory.SelectsInit(subject);
        if (d == TrafficDirection.Ingress)
        {
            foreach (var (list, deny) in new[] { (r.Ingress, false), (r.IngressDeny, true) })
            {
                foreach (var i in list ?? [])
                {
                    yield return new Peer(p, deny, i.FromEndpoints, i.FromEntities, i.ToPorts, i.Icmps, init);
                }
            }
        }
        else
        {
            foreach (var (list, deny) in new[] { (r.Egress, false), (r.EgressDeny, true) })
            {
                foreach (var e in list ?? [])
                {
                    yield return new Peer(p, deny, e.ToEndpoints, e.ToEntities, e.ToPorts, e.Icmps, init);
                }
            }
        }
    }

    private bool PeerMatches(Peer p, LabelSet peer)
    {
        if (!_peerMatches.TryGetValue((p, peer), out var result))
        {
            result = PeerMatchesUncached(p, peer);
            _peerMatches[(p, peer)] = result;
        }

        return result;
    }

    private bool PeerMatchesUncached(Peer p, LabelSet peer)
    {
        if (p.Endpoints is null && p.Entities is null)
        {
            return (p.Ports?.Count ?? 0) > 0 || (p.Icmps?.Count ?? 0) > 0;
        }

        if (p.Endpoints?.Any(es => PeerSelector(es, Namespace(p.Policy), p.SubjectSelectsInit).Matches(peer)) == true)
        {
            return true;
        }

        if (p.Entities is { } entities)
        {
            var selection = SelectorFactory.Entities(entities);
            return selection.Wildcard || selection.Selectors.Any(s => s.Matches(peer));
        }

        return false;
    }

    private LabelSelector PeerSelector(EndpointSelector es, string? ns, bool init)
    {
        if (!_peerSelectors.TryGetValue((es, ns, init), out var selector))
        {
            selector = SelectorFactory.Peer(es, ns, init);
            _peerSelectors[(es, ns, init)] = selector;
        }

        return selector;
    }

    private IEnumerable<(PolicyResource Policy, PolicyRule Rule)> Selecting(EndpointInfo endpoint)
    {
        var labels = endpoint.IdentityLabels;
        return policies.SelectMany(p => p.Rules.Select(r => (p, r)))
            .Where(x => x.r.EndpointSelector is { } es && SelectorFactory.Subject(es, Namespace(x.p)).Matches(labels));
    }

    /// <summary>True if the peer rule's ports cover the packet; <paramref name="matched"/> lists the covering port rules (null for L3-only).</summary>
    private bool PortMatches(Peer p, EndpointInfo endpoint, TrafficDirection d, LabelSet peer, byte protocol, ushort port, out List<PortRule?> matched)
    {
        matched = [];
        if ((p.Ports?.Count ?? 0) == 0 && (p.Icmps?.Count ?? 0) == 0)
        {
            matched.Add(null);
            return true;
        }

        foreach (var pr in p.Ports ?? [])
        {
            if (pr.Rules is { Dns: not null } or { L7Proto: not null })
            {
                continue;
            }

            foreach (var pp in pr.Ports)
            {
                var protocols = pp.Protocol switch { "TCP" => new byte[] { 6 }, "UDP" => [17], "SCTP" => [132], _ => [6, 17, 132] };
                if (!protocols.Contains(protocol))
                {
                    continue;
                }

                bool hit;
                if (ushort.TryParse(pp.Port, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    hit = number == 0 || (pp.EndPort is { } end && end > number ? port >= number && port <= end : port == number);
                }
                else
                {
                    var candidates = d == TrafficDirection.Ingress
                        ? endpoint.NamedPorts
                        : endpoints.Where(e => e.IdentityLabels.Equals(peer)).SelectMany(e => e.NamedPorts);
                    hit = candidates.Any(n => n.Name == pp.Port && n.Protocol == protocol && n.Port == port);
                }

                if (hit)
                {
                    matched.Add(pr);
                    break;
                }
            }
        }

        foreach (var icmp in p.Icmps ?? [])
        {
            if (icmp.Fields.Any(f => protocol == 1 && byte.Parse(f.Type, CultureInfo.InvariantCulture) == port))
            {
                matched.Add(null);
            }
        }

        return matched.Count > 0;
    }

    private sealed record Peer(
        PolicyResource Policy,
        bool Deny,
        IReadOnlyList<EndpointSelector>? Endpoints,
        IReadOnlyList<string>? Entities,
        IReadOnlyList<PortRule>? Ports,
        IReadOnlyList<IcmpRule>? Icmps,
        bool SubjectSelectsInit);
}
