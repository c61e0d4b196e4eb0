using System.Collections.Concurrent;
using System.Collections.Immutable;
using Membrane.Observer.Flows;
using Membrane.Policy.Model;

namespace Membrane.Agent.Flows;

/// <summary>
/// Interned <see cref="FlowPolicy"/> lists, so that writing a flow that names its policies allocates nothing after the
/// first flow of a kind: one list per kernel policy cookie, per default-deny attribution and per single policy. The
/// whole cache is replaced when the policy revision moves (entries carry the revision).
/// </summary>
internal sealed class FlowPolicyCache
{
    private volatile Generation _current = new(0);

    public long Revision => _current.Revision;

    /// <summary>Starts a new generation for <paramref name="revision"/>; lists of the old one are no longer handed out.</summary>
    public void Reset(long revision) => _current = new Generation(revision);

    /// <summary>The policies a kernel cookie names, or null for none (cookie 0: an allow-all of an unenforced direction).</summary>
    public IReadOnlyList<FlowPolicy>? ForCookie(uint cookie, ImmutableArray<PolicyRef> policies)
    {
        if (cookie == 0 || policies.IsDefaultOrEmpty)
        {
            return null;
        }

        var g = _current;
        return g.Cookies.TryGetValue(cookie, out var list)
            ? list
            : g.Cookies.GetOrAdd(cookie, static (_, a) => [.. a.Policies.Select(p => new FlowPolicy(p, (ulong)a.Revision))], (Policies: policies, g.Revision));
    }

    /// <summary>
    /// The policies that put a direction into default deny, marked as such (or the enforcement-mode entry when no
    /// policy selects the endpoint); null when the list is empty and the mode is not <c>always</c>.
    /// </summary>
    public IReadOnlyList<FlowPolicy>? ForDefaultDeny(ImmutableArray<PolicyRef> defaultDenyBy, bool enforcedByMode)
    {
        var g = _current;
        if (defaultDenyBy.IsDefaultOrEmpty)
        {
            return enforcedByMode ? g.EnforcementAlways : null;
        }

        var key = new PolicyList(defaultDenyBy);
        return g.DefaultDeny.TryGetValue(key, out var list)
            ? list
            : g.DefaultDeny.GetOrAdd(key, static (_, a) => [.. a.Policies.Select(p => new FlowPolicy(p, (ulong)a.Revision, defaultDeny: true))], (Policies: defaultDenyBy, g.Revision));
    }

    /// <summary>A one-policy list (L7 decisions name the policy whose rule applied).</summary>
    public IReadOnlyList<FlowPolicy> ForPolicy(PolicyRef policy, bool defaultDeny)
    {
        var g = _current;
        return g.Single.TryGetValue((policy, defaultDeny), out var list)
            ? list
            : g.Single.GetOrAdd((policy, defaultDeny), static (k, revision) => [new FlowPolicy(k.Item1, (ulong)revision, k.Item2)], g.Revision);
    }

    /// <summary>
    /// The policies behind a proxied connection's L3/L4 verdict (both sides merged); null when none. Keyed by the list
    /// instance: a connection's policy object is shared by all its requests.
    /// </summary>
    public IReadOnlyList<FlowPolicy>? ForPolicies(IReadOnlyList<PolicyRef> policies)
    {
        if (policies.Count == 0)
        {
            return null;
        }

        if (policies.Count == 1)
        {
            return ForPolicy(policies[0], defaultDeny: false);
        }

        var g = _current;
        return g.Multiple.TryGetValue(policies, out var list)
            ? list
            : g.Multiple.GetOrAdd(policies, static (p, revision) => [.. p.Distinct().Select(x => new FlowPolicy(x, (ulong)revision))], g.Revision);
    }

    private sealed class Generation(long revision)
    {
        public long Revision { get; } = revision;

        public ConcurrentDictionary<uint, IReadOnlyList<FlowPolicy>> Cookies { get; } = new();

        public ConcurrentDictionary<PolicyList, IReadOnlyList<FlowPolicy>> DefaultDeny { get; } = new();

        public ConcurrentDictionary<IReadOnlyList<PolicyRef>, IReadOnlyList<FlowPolicy>> Multiple { get; } = new(ReferenceEqualityComparer.Instance);

        public ConcurrentDictionary<(PolicyRef, bool), IReadOnlyList<FlowPolicy>> Single { get; } = new();

        public IReadOnlyList<FlowPolicy> EnforcementAlways { get; } = [FlowPolicy.EnforcementModeAlways((ulong)revision)];
    }

    /// <summary>A list of policies compared by value.</summary>
    private readonly struct PolicyList(ImmutableArray<PolicyRef> items) : IEquatable<PolicyList>
    {
        private readonly ImmutableArray<PolicyRef> _items = items;

        public bool Equals(PolicyList other) => _items.SequenceEqual(other._items);

        public override bool Equals(object? obj) => obj is PolicyList other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var p in _items)
            {
                hash.Add(p);
            }

            return hash.ToHashCode();
        }
    }
}
