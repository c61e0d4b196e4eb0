using System.Collections.Immutable;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Policy.Repository;

/// <summary>
/// One reason for a map-state key: a peer rule (and port rule) of a policy, or, with a null <see cref="PeerRule"/>,
/// the allow-all entry of a direction without enforcement.
/// </summary>
internal readonly record struct Contribution(PolicyKey Key, CompiledPeerRule? PeerRule, CompiledPortRule? PortRule)
{
    public bool IsDeny => PeerRule is { IsDeny: true };

    public PolicyRef? Policy => PeerRule?.Policy;

    public L7Protocol L7 => PortRule?.L7 ?? L7Protocol.None;
}

/// <summary>
/// The map-state entries of one peer identity in one direction of one endpoint, with the contributions they came
/// from. Entries of different identities never interact (the deny invariant of contracts.md is per identity), so a
/// slice is recomputed on its own when its identity comes or goes.
/// </summary>
internal sealed class IdentitySlice
{
    private IdentitySlice(uint identity, ImmutableArray<Contribution> contributions, ImmutableArray<KeyValuePair<PolicyKey, PolicyEntry>> entries)
    {
        Identity = identity;
        Contributions = contributions;
        Entries = entries;
    }

    public uint Identity { get; }

    public ImmutableArray<Contribution> Contributions { get; }

    /// <summary>The entries, sorted by key.</summary>
    public ImmutableArray<KeyValuePair<PolicyKey, PolicyEntry>> Entries { get; }

    /// <summary>
    /// Merges contributions into entries: per key, any deny makes a Deny entry (attributed to the deny rules); else any
    /// L7 port rule makes a Redirect (an L4-only allow on the same key keeps the redirect: its traffic is then allowed by
    /// an allow-all L7 rule, reference §2 "L4 allow wildcards L7"); else Allow. Then every Allow/Redirect covered by a
    /// Deny of the same identity is left out, so the lookup implements "deny beats allow" (contracts.md invariant).
    /// </summary>
    public static IdentitySlice Build(uint identity, List<Contribution> contributions, List<PolicyError>? conflicts = null)
    {
        if (contributions.Count == 0)
        {
            return new IdentitySlice(identity, [], []);
        }

        var byKey = new Dictionary<PolicyKey, List<Contribution>>();
        foreach (var c in contributions)
        {
            if (!byKey.TryGetValue(c.Key, out var list))
            {
                list = [];
                byKey.Add(c.Key, list);
            }

            list.Add(c);
        }

        var entries = new List<KeyValuePair<PolicyKey, PolicyEntry>>(byKey.Count);
        var denies = new List<PolicyKey>();
        foreach (var (key, list) in byKey)
        {
            PolicyEntry entry;
            if (list.Any(c => c.IsDeny))
            {
                entry = new PolicyEntry(PolicyVerdict.Deny, L7Protocol.None, Attribution(list.Where(c => c.IsDeny)));
                denies.Add(key);
            }
            else
            {
                var l7 = L7Protocol.None;
                foreach (var c in list)
                {
                    if (c.L7 != L7Protocol.None && (l7 == L7Protocol.None || c.L7 < l7))
                    {
                        if (l7 != L7Protocol.None && conflicts is not null)
                        {
                            conflicts.Add(new PolicyError(default, "", $"{key.PortProtocolText}: HTTP and Kafka rules on the same port; using {c.L7}"));
                        }

                        l7 = c.L7;
                    }
                }

                entry = new PolicyEntry(l7 == L7Protocol.None ? PolicyVerdict.Allow : PolicyVerdict.Redirect, l7, Attribution(list));
            }

            entries.Add(KeyValuePair.Create(key, entry));
        }

        if (denies.Count > 0)
        {
            entries.RemoveAll(e => e.Value.Verdict != PolicyVerdict.Deny && denies.Any(d => e.Key.IsCoveredBy(d)));
        }

        entries.Sort((x, y) => KeyComparer.Instance.Compare(x.Key, y.Key));
        return new IdentitySlice(identity, [.. contributions], [.. entries]);
    }

    private static ImmutableArray<PolicyRef> Attribution(IEnumerable<Contribution> contributions) =>
        [.. contributions.Select(c => c.Policy).OfType<PolicyRef>().Distinct().Order(PolicyRefComparer.Instance)];
}

/// <summary>Orders keys by direction, identity, protocol, port and prefix length.</summary>
internal sealed class KeyComparer : IComparer<PolicyKey>
{
    public static KeyComparer Instance { get; } = new();

    public int Compare(PolicyKey x, PolicyKey y)
    {
        var c = x.Direction.CompareTo(y.Direction);
        if (c == 0)
        {
            c = x.Identity.CompareTo(y.Identity);
        }

        if (c == 0)
        {
            c = x.Protocol.CompareTo(y.Protocol);
        }

        if (c == 0)
        {
            c = x.Port.CompareTo(y.Port);
        }

        return c != 0 ? c : x.PortPrefixLength.CompareTo(y.PortPrefixLength);
    }
}

/// <summary>Orders policy references by kind, namespace (cluster-wide first) and name, ordinally.</summary>
public sealed class PolicyRefComparer : IComparer<PolicyRef>
{
    /// <summary>The comparer.</summary>
    public static PolicyRefComparer Instance { get; } = new();

    /// <inheritdoc />
    public int Compare(PolicyRef? x, PolicyRef? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        var c = string.CompareOrdinal(x.Kind, y.Kind);
        if (c == 0)
        {
            c = string.CompareOrdinal(x.Namespace, y.Namespace);
        }

        return c != 0 ? c : string.CompareOrdinal(x.Name, y.Name);
    }
}
