using Membrane.Policy.Endpoints;
using Membrane.Policy.Model;

namespace Membrane.Policy.Selectors;

/// <summary>
/// Receives selection changes from the <see cref="SelectorCache"/> (Cilium's <c>CachedSelectionUser</c>).
/// Called synchronously by the thread that changed the identities, while the caller holds whatever lock serializes
/// its writes; implementations must not call back into the cache.
/// </summary>
internal interface ISelectorCacheUser
{
    /// <summary><paramref name="selector"/> now also selects <paramref name="added"/> and no longer <paramref name="removed"/>.</summary>
    void SelectionsChanged(CachedSelector selector, IReadOnlyList<uint> added, IReadOnlyList<uint> removed);
}

/// <summary>One distinct selector in the cache with the identities it currently selects.</summary>
internal sealed class CachedSelector
{
    private readonly HashSet<uint> _selections = [];
    private readonly HashSet<ISelectorCacheUser> _users = [];

    public CachedSelector(LabelSelector selector) => Selector = selector;

    public LabelSelector Selector { get; }

    /// <summary>The identities selected now. Read only under the owner's write serialization.</summary>
    public IReadOnlyCollection<uint> Selections => _selections;

    public bool IsWildcard => Selector.IsWildcard;

    internal int References { get; set; }

    internal IReadOnlyCollection<ISelectorCacheUser> Users => _users;

    public bool Selects(uint identity) => _selections.Contains(identity);

    internal bool AddSelection(uint identity) => _selections.Add(identity);

    internal bool RemoveSelection(uint identity) => _selections.Remove(identity);

    internal bool AddUser(ISelectorCacheUser user) => _users.Add(user);

    internal bool RemoveUser(ISelectorCacheUser user) => _users.Remove(user);

    public override string ToString() => Selector.ToString();
}

/// <summary>
/// Cilium's selector cache: each distinct <see cref="LabelSelector"/> in use maps to the set of identities it selects,
/// kept up to date incrementally as identities come and go, and its users are told what changed.
/// Identities and selectors are both indexed by <c>key=value</c> label pairs so that adding an identity only tests the
/// selectors that could match it, and adding a selector only tests the identities that could match it.
/// Not thread-safe: the owner serializes calls.
/// </summary>
internal sealed class SelectorCache
{
    private readonly Dictionary<LabelSelector, CachedSelector> _selectors = [];
    private readonly Dictionary<uint, LabelSet> _identities = [];
    private readonly Dictionary<(string Key, string Value), HashSet<uint>> _identityIndex = [];
    private readonly Dictionary<(string Key, string Value), HashSet<CachedSelector>> _selectorIndex = [];
    private readonly HashSet<CachedSelector> _unindexed = [];
    private readonly HashSet<uint> _cidrIdentities = [];
    private readonly HashSet<CachedSelector> _cidrSelectors = [];

    public int Count => _selectors.Count;

    public IReadOnlyDictionary<uint, LabelSet> Identities => _identities;

    public IEnumerable<CachedSelector> Selectors => _selectors.Values;

    /// <summary>Returns the cache entry of <paramref name="selector"/>, creating it with its current selections, and takes a reference.</summary>
    public CachedSelector Acquire(LabelSelector selector)
    {
        if (!_selectors.TryGetValue(selector, out var cached))
        {
            cached = new CachedSelector(selector);
            foreach (var id in Candidates(selector))
            {
                if (selector.Matches(_identities[id]))
                {
                    cached.AddSelection(id);
                }
            }

            _selectors.Add(selector, cached);
            if (IsCidrSelector(selector))
            {
                _cidrSelectors.Add(cached);
            }
            else if (IndexKey(selector) is { } key)
            {
                Bucket(_selectorIndex, key).Add(cached);
            }
            else
            {
                _unindexed.Add(cached);
            }
        }

        cached.References++;
        return cached;
    }

    /// <summary>Drops one reference; the entry goes away with its last reference.</summary>
    public void Release(CachedSelector cached)
    {
        if (--cached.References > 0)
        {
            return;
        }

        _selectors.Remove(cached.Selector);
        if (IsCidrSelector(cached.Selector))
        {
            _cidrSelectors.Remove(cached);
        }
        else if (IndexKey(cached.Selector) is { } key)
        {
            _selectorIndex[key].Remove(cached);
            if (_selectorIndex[key].Count == 0)
            {
                _selectorIndex.Remove(key);
            }
        }
        else
        {
            _unindexed.Remove(cached);
        }
    }

    /// <summary>Adds (or relabels) identities and notifies the users of every selector whose selections changed.</summary>
    public void UpsertIdentities(IEnumerable<KeyValuePair<uint, LabelSet>> identities)
    {
        var changes = new Dictionary<CachedSelector, (List<uint> Added, List<uint> Removed)>();
        foreach (var (id, labels) in identities)
        {
            if (_identities.TryGetValue(id, out var old))
            {
                if (old.Equals(labels))
                {
                    continue;
                }

                Remove(id, old, changes);
            }

            _identities[id] = labels;
            foreach (var l in labels)
            {
                Bucket(_identityIndex, (l.Key, l.Value)).Add(id);
                if (l.Source == Label.SourceCidr)
                {
                    _cidrIdentities.Add(id);
                }
            }

            foreach (var cached in SelectorCandidates(labels))
            {
                if (cached.Selector.Matches(labels) && cached.AddSelection(id))
                {
                    Change(changes, cached).Added.Add(id);
                }
            }
        }

        Notify(changes);
    }

    /// <summary>Removes identities and notifies the users of every selector that selected one of them.</summary>
    public void RemoveIdentities(IEnumerable<uint> identities)
    {
        var changes = new Dictionary<CachedSelector, (List<uint> Added, List<uint> Removed)>();
        foreach (var id in identities)
        {
            if (_identities.TryGetValue(id, out var labels))
            {
                Remove(id, labels, changes);
            }
        }

        Notify(changes);
    }

    /// <summary>
    /// The index key of a selector: one single-valued <c>In</c> requirement every selected identity must carry. The
    /// namespace and cluster keys are used only when nothing more selective exists.
    /// </summary>
    private static (string Key, string Value)? IndexKey(LabelSelector selector)
    {
        LabelRequirement? fallback = null;
        foreach (var r in selector.Requirements)
        {
            if (r.Operator != RequirementOperator.In || r.Values.Length != 1 || r.Source == Label.SourceCidr)
            {
                continue;
            }

            if (r.Key is EndpointInfo.NamespaceLabelKey or EndpointInfo.ClusterLabelKey)
            {
                fallback ??= r;
                continue;
            }

            return (r.Key, r.Values[0]);
        }

        return fallback is null ? null : (fallback.Key, fallback.Values[0]);
    }

    private static HashSet<T> Bucket<T>(Dictionary<(string, string), HashSet<T>> index, (string, string) key)
    {
        if (!index.TryGetValue(key, out var set))
        {
            set = [];
            index.Add(key, set);
        }

        return set;
    }

    private static (List<uint> Added, List<uint> Removed) Change(
        Dictionary<CachedSelector, (List<uint> Added, List<uint> Removed)> changes, CachedSelector cached)
    {
        if (!changes.TryGetValue(cached, out var c))
        {
            c = ([], []);
            changes.Add(cached, c);
        }

        return c;
    }

    private static void Notify(Dictionary<CachedSelector, (List<uint> Added, List<uint> Removed)> changes)
    {
        foreach (var (cached, (added, removed)) in changes)
        {
            // An identity relabelled within one call may appear in both lists; report only the net change.
            var net = added.Intersect(removed).ToHashSet();
            IReadOnlyList<uint> a = net.Count == 0 ? added : [.. added.Where(id => !net.Contains(id))];
            IReadOnlyList<uint> r = net.Count == 0 ? removed : [.. removed.Where(id => !net.Contains(id))];
            if (a.Count == 0 && r.Count == 0)
            {
                continue;
            }

            foreach (var user in cached.Users.ToArray())
            {
                user.SelectionsChanged(cached, a, r);
            }
        }
    }

    private void Remove(uint id, LabelSet labels, Dictionary<CachedSelector, (List<uint> Added, List<uint> Removed)> changes)
    {
        _identities.Remove(id);
        _cidrIdentities.Remove(id);
        foreach (var l in labels)
        {
            var key = (l.Key, l.Value);
            if (_identityIndex.TryGetValue(key, out var set) && set.Remove(id) && set.Count == 0)
            {
                _identityIndex.Remove(key);
            }
        }

        foreach (var cached in SelectorCandidates(labels))
        {
            if (cached.RemoveSelection(id))
            {
                Change(changes, cached).Removed.Add(id);
            }
        }
    }

    /// <summary>A CIDR selector only ever selects identities with a <c>cidr:</c> label.</summary>
    private static bool IsCidrSelector(LabelSelector selector) => selector.RequiresCidr;

    /// <summary>The identities that could match: those with a CIDR label for CIDR selectors, else the smallest
    /// bucket of a single-valued <c>In</c> requirement, else every identity.</summary>
    private IEnumerable<uint> Candidates(LabelSelector selector)
    {
        if (IsCidrSelector(selector))
        {
            return _cidrIdentities;
        }

        HashSet<uint>? best = null;
        foreach (var r in selector.Requirements)
        {
            if (r.Operator != RequirementOperator.In || r.Values.Length != 1)
            {
                continue;
            }

            if (!_identityIndex.TryGetValue((r.Key, r.Values[0]), out var bucket))
            {
                return [];
            }

            if (best is null || bucket.Count < best.Count)
            {
                best = bucket;
            }
        }

        return best ?? (IEnumerable<uint>)_identities.Keys;
    }

    private IEnumerable<CachedSelector> SelectorCandidates(LabelSet labels)
    {
        foreach (var cached in _unindexed)
        {
            yield return cached;
        }

        if (labels.Any(l => l.Source == Label.SourceCidr))
        {
            foreach (var cached in _cidrSelectors)
            {
                yield return cached;
            }
        }

        foreach (var l in labels)
        {
            if (_selectorIndex.TryGetValue((l.Key, l.Value), out var set))
            {
                foreach (var cached in set)
                {
                    yield return cached;
                }
            }
        }
    }
}
