using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Selectors;

namespace Membrane.Policy.Repository;

/// <summary>The result of one repository change: the new revision and, per endpoint whose map changed, its delta.</summary>
/// <param name="Revision">The repository revision after the change.</param>
/// <param name="Deltas">One delta per endpoint whose map state changed (a removed endpoint deletes every key).</param>
/// <param name="Warnings">Parts of the new policies Membrane does not enforce yet (they fail closed).</param>
public sealed record PolicyUpdate(long Revision, IReadOnlyList<MapStateDelta> Deltas, IReadOnlyList<PolicyError> Warnings)
{
    /// <summary>The delta of one endpoint, or null if its map did not change.</summary>
    public MapStateDelta? DeltaOf(ushort endpointId) => Deltas.FirstOrDefault(d => d.EndpointId == endpointId);
}

/// <summary>One entry of the selector cache, as <c>cilium-dbg policy selectors</c> shows it.</summary>
/// <param name="Selector">The selector's canonical text.</param>
/// <param name="Identities">The identities it selects, sorted.</param>
/// <param name="References">How many rules use it.</param>
public sealed record SelectorInfo(string Selector, IReadOnlyList<uint> Identities, int References);

/// <summary>
/// The policy repository and map-state engine. Holds the validated policy set, the endpoints, and the identities
/// known to the selector cache; computes each endpoint's map state per direction exactly as
/// <c>docs/design/contracts.md</c> defines it, incrementally: a change recomputes only the endpoints a changed policy
/// selects, and only the identity slices a new or removed identity touches, and reports a
/// <see cref="MapStateDelta"/> per endpoint. Every change is atomic: it is validated completely before anything is
/// applied, and readers (<see cref="GetEndpointPolicy(ushort)"/>, the proxy, trace) see either the old or the new revision.
/// Writers are serialized; readers never block.
/// </summary>
public sealed class PolicyRepository
{
    private readonly Lock _lock = new();
    private readonly IIdentityAllocator _allocator;
    private readonly IIpCache _ipCache;
    private readonly PolicyRepositoryOptions _options;
    private readonly SelectorCache _selectors = new();
    private readonly L7RuleSetCache _l7 = new();
    private readonly Dictionary<PolicyRef, CompiledPolicy> _policies = [];
    private readonly Dictionary<ushort, EndpointState> _endpoints = [];
    private readonly Dictionary<uint, (LabelSet Labels, int References)> _identities = [];
    private readonly HashSet<uint> _remoteIdentities = [];
    private readonly Dictionary<IpPrefix, (NumericIdentity Identity, int References)> _cidrs = [];
    private readonly HashSet<EndpointState> _dirty = [];

    // Scratch space of the writer (used under _lock only), kept across computations to spare the large object heap.
    private readonly List<Contribution> _scratch = [];
    private ulong[] _sortKeys = [];
    private long _revision;
    private volatile Snapshot _snapshot = new(0, ImmutableDictionary<ushort, EndpointSlot>.Empty, [], ImmutableDictionary<IPAddress, ushort>.Empty);

    /// <summary>Creates an empty repository over an identity allocator and an ipcache (both shared with the agent).</summary>
    public PolicyRepository(IIdentityAllocator allocator, IIpCache ipCache, PolicyRepositoryOptions? options = null)
    {
        _allocator = allocator ?? throw new ArgumentNullException(nameof(allocator));
        _ipCache = ipCache ?? throw new ArgumentNullException(nameof(ipCache));
        _options = options ?? new PolicyRepositoryOptions();
        foreach (var (id, labels) in ReservedIdentities.Identities)
        {
            AcquireIdentity(id, labels);
        }
    }

    /// <summary>The current revision; it moves with every change.</summary>
    public long Revision => _snapshot.Revision;

    /// <summary>The loaded policies, ordered by kind, namespace and name.</summary>
    public IReadOnlyList<PolicyResource> Policies => _snapshot.Policies;

    /// <summary>Every endpoint's current policy.</summary>
    public IReadOnlyCollection<EndpointPolicy> EndpointPolicies => [.. _snapshot.Endpoints.Values.Select(s => s.Current).OrderBy(e => e.EndpointId)];

    /// <summary>
    /// The current policy of endpoint <paramref name="endpointId"/>, or null if unknown. Each endpoint's policy is
    /// replaced atomically; a reader sees one endpoint either before or after a change, as the datapath applies it.
    /// </summary>
    public EndpointPolicy? GetEndpointPolicy(ushort endpointId) => _snapshot.Endpoints.GetValueOrDefault(endpointId)?.Current;

    /// <summary>Replaces the whole policy set. Throws <see cref="PolicyCompileException"/> (and changes nothing) on any error.</summary>
    public PolicyUpdate ReplaceAll(IEnumerable<PolicyResource> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var resources = policies.ToList();
        var compiled = CompileAll(resources);
        lock (_lock)
        {
            var op = new Operation { PoliciesChanged = true };
            var old = _policies.Values.ToList();
            foreach (var p in compiled)
            {
                Install(p);
                op.Warnings.AddRange(p.Warnings);
            }

            foreach (var p in old)
            {
                op.Full.UnionWith(SelectedEndpoints(p));
                Uninstall(p);
            }

            _policies.Clear();
            foreach (var p in compiled)
            {
                _policies.Add(p.Ref, p);
                op.Full.UnionWith(SelectedEndpoints(p));
            }

            return Commit(op);
        }
    }

    /// <summary>Adds a policy or replaces the one with the same kind, namespace and name.</summary>
    public PolicyUpdate Upsert(PolicyResource policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var compiled = RuleCompiler.Compile(policy, _options.ClusterName);
        lock (_lock)
        {
            var op = new Operation { PoliciesChanged = true };
            op.Warnings.AddRange(compiled.Warnings);
            Install(compiled);
            if (_policies.Remove(compiled.Ref, out var old))
            {
                op.Full.UnionWith(SelectedEndpoints(old));
                Uninstall(old);
            }

            _policies.Add(compiled.Ref, compiled);
            op.Full.UnionWith(SelectedEndpoints(compiled));
            return Commit(op);
        }
    }

    /// <summary>Deletes a policy by kind, namespace and name; null if no such policy is loaded.</summary>
    public PolicyUpdate? Delete(PolicyRef policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (_lock)
        {
            if (!_policies.Remove(policy, out var old))
            {
                return null;
            }

            var op = new Operation { PoliciesChanged = true };
            op.Full.UnionWith(SelectedEndpoints(old));
            Uninstall(old);
            return Commit(op);
        }
    }

    /// <summary>
    /// Adds an endpoint or updates it (labels, address, named ports); allocates its identity. Throws
    /// <see cref="ArgumentException"/> (and changes nothing) for id 0 or an address another endpoint has.
    /// </summary>
    public PolicyUpdate UpsertEndpoint(EndpointInfo endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.Id == 0)
        {
            throw new ArgumentException("endpoint id 0 is not valid (ids are 1-65535)", nameof(endpoint));
        }

        var labels = endpoint.IdentityLabels;
        lock (_lock)
        {
            if (endpoint.IPv4 is { } address && _endpoints.Values.FirstOrDefault(e => e.Info.Id != endpoint.Id && address.Equals(e.Info.IPv4)) is { } owner)
            {
                throw new ArgumentException($"address {address} already belongs to endpoint {owner.Info.Id} ({owner.Info.QualifiedName})", nameof(endpoint));
            }

            var op = new Operation { AddressesChanged = true };
            var id = _allocator.Allocate(labels);
            AcquireIdentity(id, labels);
            var affectedIdentities = new HashSet<uint> { id.Value, 0 };
            if (_endpoints.TryGetValue(endpoint.Id, out var state))
            {
                var (oldInfo, oldId) = (state.Info, state.Identity);
                state.Info = endpoint;
                state.Identity = id;
                if (oldInfo.IPv4 is { } oldIp && !oldIp.Equals(endpoint.IPv4))
                {
                    _ipCache.Delete(IpPrefix.Host(oldIp), IpCacheSource.Endpoint);
                }

                if (endpoint.IPv4 is { } ip)
                {
                    _ipCache.Upsert(IpPrefix.Host(ip), id, IpCacheSource.Endpoint);
                }

                ReleaseIdentity(oldId);
                _allocator.Release(oldId);
                affectedIdentities.Add(oldId.Value);
            }
            else
            {
                state = new EndpointState(endpoint, id, _dirty);
                _endpoints.Add(endpoint.Id, state);
                if (endpoint.IPv4 is { } ip)
                {
                    _ipCache.Upsert(IpPrefix.Host(ip), id, IpCacheSource.Endpoint);
                }
            }

            NamedPortsChanged(affectedIdentities);
            op.Full.Add(state);
            return Commit(op);
        }
    }

    /// <summary>Removes an endpoint (its delta deletes every key); null if unknown.</summary>
    public PolicyUpdate? RemoveEndpoint(ushort endpointId)
    {
        lock (_lock)
        {
            if (!_endpoints.Remove(endpointId, out var state))
            {
                return null;
            }

            var op = new Operation { AddressesChanged = true };
            state.DetachAll();
            _dirty.Remove(state);
            op.Removed.Add(state);
            if (state.Info.IPv4 is { } ip)
            {
                _ipCache.Delete(IpPrefix.Host(ip), IpCacheSource.Endpoint);
            }

            ReleaseIdentity(state.Identity);
            _allocator.Release(state.Identity);
            NamedPortsChanged([state.Identity.Value, 0]);
            return Commit(op);
        }
    }

    /// <summary>Adds or relabels an identity that is not a local endpoint (another node's pod, a kvstore entry).</summary>
    public PolicyUpdate UpsertIdentity(NumericIdentity identity, LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (identity.Value == 0 || identity.IsReserved)
        {
            throw new ArgumentException($"identity {identity} is reserved", nameof(identity));
        }

        lock (_lock)
        {
            var op = new Operation();
            if (_remoteIdentities.Add(identity.Value))
            {
                AcquireIdentity(identity, labels);
            }
            else if (!_identities[identity.Value].Labels.Equals(labels))
            {
                _identities[identity.Value] = (labels, _identities[identity.Value].References);
                _selectors.UpsertIdentities([KeyValuePair.Create(identity.Value, labels)]);
            }

            return Commit(op);
        }
    }

    /// <summary>Removes an identity added with <see cref="UpsertIdentity"/>; null if it was not added that way.</summary>
    public PolicyUpdate? RemoveIdentity(NumericIdentity identity)
    {
        lock (_lock)
        {
            if (!_remoteIdentities.Remove(identity.Value))
            {
                return null;
            }

            var op = new Operation();
            ReleaseIdentity(identity);
            return Commit(op);
        }
    }

    /// <summary>The local endpoint that has <paramref name="address"/>, or null.</summary>
    public EndpointPolicy? GetEndpointPolicy(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var snapshot = _snapshot;
        var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return snapshot.Addresses.TryGetValue(a, out var id) ? snapshot.Endpoints.GetValueOrDefault(id)?.Current : null;
    }

    /// <summary>
    /// What policy says about a connection from <paramref name="source"/> to <paramref name="destination"/>:
    /// identities from the ipcache, the source endpoint's egress and the destination endpoint's ingress lookups,
    /// and the L7 rule sets of each side that redirects to the proxy (what <c>IProxyPolicySource.Resolve</c> needs).
    /// Lock-free; consistent per endpoint.
    /// </summary>
    public ConnectionResolution ResolveConnection(IPAddress source, IPAddress destination, byte protocol, ushort port)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        var revision = Revision;
        var sourceEndpoint = GetEndpointPolicy(source);
        var destinationEndpoint = GetEndpointPolicy(destination);
        var sourceIdentity = sourceEndpoint?.Identity ?? _ipCache.Lookup(source);
        var destinationIdentity = destinationEndpoint?.Identity ?? _ipCache.Lookup(destination);
        var egress = sourceEndpoint?.Lookup(TrafficDirection.Egress, destinationIdentity, protocol, port);
        var ingress = destinationEndpoint?.Lookup(TrafficDirection.Ingress, sourceIdentity, protocol, port);
        var l7 = (egress?.Verdict == LookupVerdict.Redirected ? egress.Value.Matched!.Value.Value.L7 : L7Protocol.None) switch
        {
            L7Protocol.None when ingress?.Verdict == LookupVerdict.Redirected => ingress.Value.Matched!.Value.Value.L7,
            var x => x,
        };

        static T? Side<T>(EndpointPolicy? ep, MapLookupResult? lookup, Func<EndpointPolicy, T?> rules)
            where T : class =>
            ep is not null && lookup?.Verdict == LookupVerdict.Redirected ? rules(ep) : null;

        return new ConnectionResolution(
            revision,
            sourceIdentity,
            destinationIdentity,
            sourceEndpoint,
            destinationEndpoint,
            egress,
            ingress,
            l7,
            Side(sourceEndpoint, egress, ep => ep.GetHttpRules(TrafficDirection.Egress, destinationIdentity, protocol, port)),
            Side(destinationEndpoint, ingress, ep => ep.GetHttpRules(TrafficDirection.Ingress, sourceIdentity, protocol, port)),
            Side(sourceEndpoint, egress, ep => ep.GetKafkaRules(TrafficDirection.Egress, destinationIdentity, protocol, port)),
            Side(destinationEndpoint, ingress, ep => ep.GetKafkaRules(TrafficDirection.Ingress, sourceIdentity, protocol, port)));
    }

    /// <summary>The labels of an identity the repository knows (reserved, endpoint, remote or CIDR).</summary>
    public bool TryGetIdentityLabels(NumericIdentity identity, out LabelSet labels)
    {
        lock (_lock)
        {
            if (_identities.TryGetValue(identity.Value, out var e))
            {
                labels = e.Labels;
                return true;
            }
        }

        labels = LabelSet.Empty;
        return false;
    }

    /// <summary>The selector cache: each distinct selector in use with the identities it selects.</summary>
    public IReadOnlyList<SelectorInfo> Selectors()
    {
        lock (_lock)
        {
            return [.. _selectors.Selectors
                .Select(s => new SelectorInfo(s.Selector.ToString(), [.. s.Selections.Order()], s.References))
                .OrderBy(s => s.Selector, StringComparer.Ordinal)];
        }
    }

    private static List<PolicyError> Errors(PolicyCompileException e, PolicyResource r) =>
        e.Errors.Count > 0 ? [.. e.Errors] : [new PolicyError(r.Source, "", e.Message)];

    /// <summary>
    /// Adds the keys peer rule <paramref name="p"/> produces for <paramref name="identity"/>. Egress named ports resolve
    /// against the peer's own named ports, so a wildcard peer's named ports are added to the slice of each endpoint
    /// identity that has the port (<paramref name="numeric"/> false), never to the wildcard slice.
    /// </summary>
    private static void AddContributions(
        List<Contribution> into, EndpointState ep, TrafficDirection d, uint identity, CompiledPeerRule p,
        Func<uint, IEnumerable<NamedPort>> peerNamedPorts, bool numeric = true, bool named = true)
    {
        if (p.PortRules is not { } portRules)
        {
            if (numeric)
            {
                into.Add(new Contribution(new PolicyKey(d, identity, 0, 0, 0), p, null));
            }

            return;
        }

        foreach (var pr in portRules)
        {
            if (pr.UnenforceableL7)
            {
                continue;
            }

            if (numeric)
            {
                foreach (var s in pr.Ports)
                {
                    into.Add(new Contribution(new PolicyKey(d, identity, s.Protocol, s.Port, s.PrefixLength), p, pr));
                }
            }

            if (!named || (d == TrafficDirection.Egress && identity == 0))
            {
                continue;
            }

            foreach (var np in pr.NamedPorts)
            {
                var candidates = d == TrafficDirection.Ingress ? ep.Info.NamedPorts : peerNamedPorts(identity);
                foreach (var port in candidates.Where(n => n.Name == np.Name && n.Protocol == np.Protocol).Select(n => n.Port).Distinct())
                {
                    into.Add(new Contribution(new PolicyKey(d, identity, np.Protocol, port, 16), p, pr));
                }
            }
        }
    }

    /// <summary>The contributions of one peer rule to the slice of <paramref name="identity"/>.</summary>
    private void AddSliceContributions(List<Contribution> into, EndpointState ep, TrafficDirection d, uint identity, CompiledPeerRule p)
    {
        if (p.Selects(identity))
        {
            AddContributions(into, ep, d, identity, p, NamedPortsOf);
        }
        else if (identity != 0 && p.WildcardPeer && d == TrafficDirection.Egress && p.UsesNamedPorts)
        {
            AddContributions(into, ep, d, identity, p, NamedPortsOf, numeric: false);
        }
    }

    private static void Diff(DirectionPolicy old, DirectionPolicy now, IEnumerable<uint>? identities, List<KeyValuePair<PolicyKey, PolicyEntry>> upserts, List<PolicyKey> deletes)
    {
        identities ??= old.Slices.Keys.Union(now.Slices.Keys);
        foreach (var id in identities)
        {
            var o = old.Slice(id);
            var n = now.Slice(id);
            if (ReferenceEquals(o, n))
            {
                continue;
            }

            // Both entry lists are sorted by key: merge them.
            var before = o?.Entries ?? [];
            var after = n?.Entries ?? [];
            int i = 0, j = 0;
            while (i < before.Length || j < after.Length)
            {
                var c = i == before.Length ? 1 : j == after.Length ? -1 : KeyComparer.Instance.Compare(before[i].Key, after[j].Key);
                if (c < 0)
                {
                    deletes.Add(before[i++].Key);
                }
                else if (c > 0)
                {
                    upserts.Add(after[j++]);
                }
                else
                {
                    if (!before[i].Value.Equals(after[j].Value))
                    {
                        upserts.Add(after[j]);
                    }

                    i++;
                    j++;
                }
            }
        }
    }

    private List<CompiledPolicy> CompileAll(List<PolicyResource> resources)
    {
        var errors = new List<PolicyError>();
        var compiled = new List<CompiledPolicy>();
        var seen = new HashSet<PolicyRef>();
        foreach (var r in resources)
        {
            if (!seen.Add(r.Ref))
            {
                errors.Add(new PolicyError(r.Source, "metadata.name", $"duplicate policy {r.Ref}"));
                continue;
            }

            try
            {
                compiled.Add(RuleCompiler.Compile(r, _options.ClusterName));
            }
            catch (PolicyCompileException e)
            {
                errors.AddRange(Errors(e, r));
            }
        }

        return errors.Count > 0 ? throw new PolicyCompileException(errors) : compiled;
    }

    private void Install(CompiledPolicy policy)
    {
        foreach (var prefix in policy.Prefixes)
        {
            AcquireCidr(prefix);
        }

        foreach (var rule in policy.Rules)
        {
            rule.AttachSubject(rule.Subject is { } s ? _selectors.Acquire(s) : null);
            foreach (var p in rule.Ingress.Concat(rule.Egress))
            {
                p.Attach([.. p.PeerSelectors.Select(_selectors.Acquire)]);
            }
        }
    }

    private void Uninstall(CompiledPolicy policy)
    {
        foreach (var rule in policy.Rules)
        {
            if (rule.SubjectSelector is { } s)
            {
                _selectors.Release(s);
            }

            foreach (var p in rule.Ingress.Concat(rule.Egress))
            {
                foreach (var c in p.Peers)
                {
                    _selectors.Release(c);
                }
            }
        }

        foreach (var prefix in policy.Prefixes)
        {
            ReleaseCidr(prefix);
        }
    }

    private IEnumerable<EndpointState> SelectedEndpoints(CompiledPolicy policy) =>
        _endpoints.Values.Where(e => policy.Rules.Any(r => r.SelectsEndpoint(e.Identity.Value)));

    private void AcquireIdentity(NumericIdentity id, LabelSet labels)
    {
        if (_identities.TryGetValue(id.Value, out var e))
        {
            _identities[id.Value] = (e.Labels, e.References + 1);
            return;
        }

        _identities[id.Value] = (labels, 1);
        _selectors.UpsertIdentities([KeyValuePair.Create(id.Value, labels)]);
    }

    private void ReleaseIdentity(NumericIdentity id)
    {
        var e = _identities[id.Value];
        if (e.References > 1)
        {
            _identities[id.Value] = (e.Labels, e.References - 1);
            return;
        }

        _identities.Remove(id.Value);
        _selectors.RemoveIdentities([id.Value]);
    }

    private void AcquireCidr(IpPrefix prefix)
    {
        if (_cidrs.TryGetValue(prefix, out var e))
        {
            _cidrs[prefix] = (e.Identity, e.References + 1);
            return;
        }

        if (prefix.IsAll)
        {
            // The whole address space is reserved:world, what every address without an entry resolves to.
            _cidrs[prefix] = (NumericIdentity.World, 1);
            return;
        }

        var labels = CidrIdentity.LabelsFor(prefix);
        var id = _allocator.Allocate(labels);
        _cidrs[prefix] = (id, 1);
        _ipCache.Upsert(prefix, id, IpCacheSource.PolicyCidr);
        AcquireIdentity(id, labels);
    }

    private void ReleaseCidr(IpPrefix prefix)
    {
        var e = _cidrs[prefix];
        if (e.References > 1)
        {
            _cidrs[prefix] = (e.Identity, e.References - 1);
            return;
        }

        _cidrs.Remove(prefix);
        if (prefix.IsAll)
        {
            return;
        }

        _ipCache.Delete(prefix, IpCacheSource.PolicyCidr);
        ReleaseIdentity(e.Identity);
        _allocator.Release(e.Identity);
    }

    private void NamedPortsChanged(IEnumerable<uint> identities)
    {
        var ids = identities.ToList();
        foreach (var ep in _endpoints.Values)
        {
            if (ep.HasEgressNamedPorts)
            {
                ep.MarkDirty(ids);
            }
        }
    }

    private IEnumerable<NamedPort> NamedPortsOf(uint identity) =>
        _endpoints.Values.Where(e => e.Identity.Value == identity).SelectMany(e => e.Info.NamedPorts);

    private PolicyUpdate Commit(Operation op)
    {
        var revision = ++_revision;
        if (op.PoliciesChanged)
        {
            _l7.Clear();
        }

        var deltas = new List<MapStateDelta>();
        var published = _snapshot.Endpoints;
        foreach (var ep in op.Removed)
        {
            published = published.Remove(ep.Info.Id);
            var deletes = ep.Ingress.Entries.Concat(ep.Egress.Entries).Select(e => e.Key).ToList();
            deltas.Add(new MapStateDelta(ep.Info.Id, [], deletes));
        }

        var touched = new HashSet<EndpointState>(op.Full.Where(e => _endpoints.ContainsKey(e.Info.Id)));
        var rules = touched.Count > 0 ? _policies.Values.SelectMany(p => p.Rules).ToList() : [];
        foreach (var ep in touched)
        {
            var (oldIn, oldEg) = (ep.Ingress, ep.Egress);
            Recompute(ep, rules);
            var upserts = new List<KeyValuePair<PolicyKey, PolicyEntry>>();
            var deletes = new List<PolicyKey>();
            Diff(oldIn, ep.Ingress, null, upserts, deletes);
            Diff(oldEg, ep.Egress, null, upserts, deletes);
            deltas.Add(Delta(ep, upserts, deletes));
            ep.Dirty.Clear();
        }

        foreach (var ep in _dirty)
        {
            if (touched.Contains(ep) || !_endpoints.ContainsKey(ep.Info.Id))
            {
                ep.Dirty.Clear();
                continue;
            }

            var (oldIn, oldEg) = (ep.Ingress, ep.Egress);
            var ids = ep.Dirty.ToList();
            ep.Dirty.Clear();
            foreach (var id in ids)
            {
                RecomputeSlice(ep, id);
            }

            var upserts = new List<KeyValuePair<PolicyKey, PolicyEntry>>();
            var deletes = new List<PolicyKey>();
            Diff(oldIn, ep.Ingress, ids, upserts, deletes);
            Diff(oldEg, ep.Egress, ids, upserts, deletes);
            deltas.Add(Delta(ep, upserts, deletes));
            touched.Add(ep);
        }

        _dirty.Clear();
        foreach (var ep in touched)
        {
            var policy = new EndpointPolicy(ep.Info, ep.Identity, revision, ep.Ingress, ep.Egress, _l7);
            if (published.TryGetValue(ep.Info.Id, out var slot))
            {
                slot.Current = policy;
            }
            else
            {
                published = published.Add(ep.Info.Id, new EndpointSlot(policy));
            }
        }

        var policies = op.PoliciesChanged
            ? [.. _policies.Values.Select(p => p.Resource).OrderBy(r => r.Ref, PolicyRefComparer.Instance)]
            : _snapshot.Policies;
        var addresses = op.AddressesChanged
            ? _endpoints.Values.Where(e => e.Info.IPv4 is not null).ToImmutableDictionary(e => e.Info.IPv4!, e => e.Info.Id)
            : _snapshot.Addresses;
        _snapshot = new Snapshot(revision, published, policies, addresses);
        return new PolicyUpdate(
            revision,
            [.. deltas.Where(d => !d.IsEmpty).OrderBy(d => d.EndpointId)],
            op.Warnings);
    }

    private static MapStateDelta Delta(EndpointState ep, List<KeyValuePair<PolicyKey, PolicyEntry>> upserts, List<PolicyKey> deletes)
    {
        upserts.Sort((x, y) => KeyComparer.Instance.Compare(x.Key, y.Key));
        deletes.Sort(KeyComparer.Instance);
        return new MapStateDelta(ep.Info.Id, upserts, deletes);
    }

    /// <summary>Recomputes an endpoint completely: selecting rules, enforcement, and every identity slice.</summary>
    private void Recompute(EndpointState ep, List<CompiledRule> allRules)
    {
        var rules = allRules
            .Where(r => r.SelectsEndpoint(ep.Identity.Value))
            .OrderBy(r => r.Policy.Ref, PolicyRefComparer.Instance)
            .ThenBy(r => r.FieldPath, StringComparer.Ordinal)
            .ToList();
        var used = new HashSet<CachedSelector>();
        foreach (var d in new[] { TrafficDirection.Ingress, TrafficDirection.Egress })
        {
            var enforced = _options.EnforcementMode switch
            {
                PolicyEnforcementMode.Always => true,
                PolicyEnforcementMode.Never => false,
                _ => rules.Any(r => r.DefaultDeny(d)),
            };
            ImmutableArray<PolicyRef> defaultDenyBy = _options.EnforcementMode == PolicyEnforcementMode.Never
                ? []
                : [.. rules.Where(r => r.DefaultDeny(d)).Select(r => r.Policy.Ref).Distinct().Order(PolicyRefComparer.Instance)];
            var peerRules = _options.EnforcementMode == PolicyEnforcementMode.Never
                ? []
                : rules.SelectMany(r => r.PeerRules(d)).ToList();
            var all = _scratch;
            all.Clear();
            if (!enforced)
            {
                all.Add(new Contribution(new PolicyKey(d, 0, 0, 0, 0), null, null));
            }

            foreach (var p in peerRules)
            {
                used.UnionWith(p.Peers);
                if (p.WildcardPeer)
                {
                    AddContributions(all, ep, d, 0, p, NamedPortsOf);
                    if (d == TrafficDirection.Egress && p.UsesNamedPorts)
                    {
                        foreach (var id in _endpoints.Values.Where(e => e.Info.NamedPorts.Count > 0).Select(e => e.Identity.Value).Distinct())
                        {
                            AddContributions(all, ep, d, id, p, NamedPortsOf, numeric: false);
                        }
                    }

                    continue;
                }

                IEnumerable<uint> selected = p.Peers.Count == 1 ? p.Peers[0].Selections : p.Peers.SelectMany(s => s.Selections).Distinct();
                foreach (var id in selected)
                {
                    AddContributions(all, ep, d, id, p, NamedPortsOf);
                }
            }

            var span = CollectionsMarshal.AsSpan(all);
            Contribution.Sort(span, ref _sortKeys);
            var slices = ImmutableDictionary.CreateBuilder<uint, IdentitySlice>();
            var count = 0;
            for (var i = 0; i < span.Length;)
            {
                var id = span[i].Key.Identity;
                var j = i + 1;
                while (j < span.Length && span[j].Key.Identity == id)
                {
                    j++;
                }

                var slice = IdentitySlice.Build(id, span[i..j]);
                slices.Add(id, slice);
                count += slice.Entries.Length;
                i = j;
            }

            var policy = new DirectionPolicy(d, enforced, defaultDenyBy, slices.ToImmutable(), count);
            ep.SetDirection(d, policy);
            ep.SetPeerRules(d, peerRules);
        }

        ep.UseSelectors(used);
    }

    /// <summary>Recomputes the slices of one identity in both directions of an endpoint.</summary>
    private void RecomputeSlice(EndpointState ep, uint id)
    {
        foreach (var d in new[] { TrafficDirection.Ingress, TrafficDirection.Egress })
        {
            var current = ep[d];
            var contributions = _scratch;
            contributions.Clear();
            if (id == 0 && !current.Enforced)
            {
                contributions.Add(new Contribution(new PolicyKey(d, 0, 0, 0, 0), null, null));
            }

            foreach (var p in ep.PeerRules(d))
            {
                AddSliceContributions(contributions, ep, d, id, p);
            }

            Contribution.Sort(CollectionsMarshal.AsSpan(contributions), ref _sortKeys);
            var slice = IdentitySlice.Build(id, CollectionsMarshal.AsSpan(contributions));
            var previous = current.Slice(id);
            var slices = contributions.Count == 0 ? current.Slices.Remove(id) : current.Slices.SetItem(id, slice);
            if (!ReferenceEquals(slices, current.Slices))
            {
                var count = current.Count - (previous?.Entries.Length ?? 0) + (contributions.Count == 0 ? 0 : slice.Entries.Length);
                ep.SetDirection(d, new DirectionPolicy(d, current.Enforced, current.DefaultDenyBy, slices, count));
            }
        }
    }

    private sealed record Snapshot(
        long Revision,
        ImmutableDictionary<ushort, EndpointSlot> Endpoints,
        IReadOnlyList<PolicyResource> Policies,
        ImmutableDictionary<IPAddress, ushort> Addresses);

    /// <summary>Holds an endpoint's current policy; the writer swaps it, readers read it without locking.</summary>
    private sealed class EndpointSlot(EndpointPolicy current)
    {
        private volatile EndpointPolicy _current = current;

        public EndpointPolicy Current
        {
            get => _current;
            set => _current = value;
        }
    }

    private sealed class Operation
    {
        public bool PoliciesChanged { get; init; }

        public bool AddressesChanged { get; init; }

        public HashSet<EndpointState> Full { get; } = [];

        public List<EndpointState> Removed { get; } = [];

        public List<PolicyError> Warnings { get; } = [];
    }

    /// <summary>The mutable, writer-side state of one endpoint; it is a selector-cache user of every peer selector it uses.</summary>
    private sealed class EndpointState(EndpointInfo info, NumericIdentity identity, HashSet<EndpointState> dirtySet) : ISelectorCacheUser
    {
        private static readonly DirectionPolicy EmptyIngress = new(TrafficDirection.Ingress, false, [], ImmutableDictionary<uint, IdentitySlice>.Empty, 0);
        private static readonly DirectionPolicy EmptyEgress = new(TrafficDirection.Egress, false, [], ImmutableDictionary<uint, IdentitySlice>.Empty, 0);

        private HashSet<CachedSelector> _used = [];
        private List<CompiledPeerRule> _ingressRules = [];
        private List<CompiledPeerRule> _egressRules = [];

        public EndpointInfo Info { get; set; } = info;

        public NumericIdentity Identity { get; set; } = identity;

        public DirectionPolicy Ingress { get; private set; } = EmptyIngress;

        public DirectionPolicy Egress { get; private set; } = EmptyEgress;

        public HashSet<uint> Dirty { get; } = [];

        public bool HasEgressNamedPorts { get; private set; }

        public DirectionPolicy this[TrafficDirection d] => d == TrafficDirection.Ingress ? Ingress : Egress;

        public List<CompiledPeerRule> PeerRules(TrafficDirection d) => d == TrafficDirection.Ingress ? _ingressRules : _egressRules;

        public void SetDirection(TrafficDirection d, DirectionPolicy policy)
        {
            if (d == TrafficDirection.Ingress)
            {
                Ingress = policy;
            }
            else
            {
                Egress = policy;
            }
        }

        public void SetPeerRules(TrafficDirection d, List<CompiledPeerRule> peerRules)
        {
            if (d == TrafficDirection.Ingress)
            {
                _ingressRules = peerRules;
            }
            else
            {
                _egressRules = peerRules;
                HasEgressNamedPorts = peerRules.Exists(p => p.UsesNamedPorts);
            }
        }

        public void UseSelectors(HashSet<CachedSelector> used)
        {
            foreach (var s in _used)
            {
                if (!used.Contains(s))
                {
                    s.RemoveUser(this);
                }
            }

            foreach (var s in used)
            {
                s.AddUser(this);
            }

            _used = used;
        }

        public void DetachAll() => UseSelectors([]);

        public void MarkDirty(IEnumerable<uint> identities)
        {
            Dirty.UnionWith(identities);
            dirtySet.Add(this);
        }

        public void SelectionsChanged(CachedSelector selector, IReadOnlyList<uint> added, IReadOnlyList<uint> removed)
        {
            MarkDirty(added);
            MarkDirty(removed);
        }
    }
}
