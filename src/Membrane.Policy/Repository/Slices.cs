using System.Collections.Immutable;
using System.Runtime.InteropServices;
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

    /// <summary>The key as one number ordered like <see cref="KeyComparer"/> within one direction.</summary>
    public ulong SortKey => ((ulong)Key.Identity << 32) | ((ulong)Key.Protocol << 24) | ((ulong)Key.Port << 8) | Key.PortPrefixLength;

    /// <summary>
    /// Sorts contributions of one direction with <see cref="ContributionComparer"/>: by <see cref="SortKey"/> (a
    /// primitive sort), then each run of equal keys with the full comparer. <paramref name="keys"/> is scratch space.
    /// </summary>
    public static void Sort(Span<Contribution> items, ref ulong[] keys)
    {
        if (keys.Length < items.Length)
        {
            keys = new ulong[Math.Max(items.Length, keys.Length * 2)];
        }

        var k = keys.AsSpan(0, items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            k[i] = items[i].SortKey;
        }

        k.Sort(items);
        for (var i = 0; i < k.Length;)
        {
            var j = i + 1;
            while (j < k.Length && k[j] == k[i])
            {
                j++;
            }

            if (j - i > 1)
            {
                items[i..j].Sort(ContributionComparer.Instance);
            }

            i = j;
        }
    }
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

    public static IdentitySlice Empty(uint identity) => new(identity, [], []);

    /// <summary>
    /// Merges contributions (sorted with <see cref="ContributionComparer"/>) into entries: per key, any deny makes a
    /// Deny entry (attributed to the deny rules); else any L7 port rule makes a Redirect (an L4-only allow on the same
    /// key keeps the redirect: its traffic is then allowed by an allow-all L7 rule, reference §2 "L4 allow wildcards
    /// L7"); else Allow. Then every Allow/Redirect covered by a Deny of the same identity is left out, so the lookup
    /// implements "deny beats allow" (contracts.md invariant). HTTP beats Kafka when both claim one key.
    /// </summary>
    public static IdentitySlice Build(uint identity, ReadOnlySpan<Contribution> sorted)
    {
        if (sorted.IsEmpty)
        {
            return new IdentitySlice(identity, [], []);
        }

        var groups = 1;
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Key != sorted[i - 1].Key)
            {
                groups++;
            }
        }

        var entries = new KeyValuePair<PolicyKey, PolicyEntry>[groups];
        var denies = 0;
        var g = 0;
        for (var i = 0; i < sorted.Length;)
        {
            var key = sorted[i].Key;
            var j = i + 1;
            while (j < sorted.Length && sorted[j].Key == key)
            {
                j++;
            }

            var group = sorted[i..j];
            var deny = false;
            var l7 = L7Protocol.None;
            foreach (var c in group)
            {
                deny |= c.IsDeny;
                if (c.L7 != L7Protocol.None && (l7 == L7Protocol.None || c.L7 < l7))
                {
                    l7 = c.L7;
                }
            }

            PolicyEntry entry;
            if (deny)
            {
                entry = Entry(group, PolicyVerdict.Deny, L7Protocol.None, denyOnly: true);
                denies++;
            }
            else
            {
                entry = Entry(group, l7 == L7Protocol.None ? PolicyVerdict.Allow : PolicyVerdict.Redirect, l7, denyOnly: false);
            }

            entries[g++] = KeyValuePair.Create(key, entry);
            i = j;
        }

        if (denies > 0 && denies < entries.Length)
        {
            var denyKeys = entries.Where(e => e.Value.Verdict == PolicyVerdict.Deny).Select(e => e.Key).ToArray();
            entries = [.. entries.Where(e => e.Value.Verdict == PolicyVerdict.Deny || !denyKeys.Any(d => e.Key.IsCoveredBy(d)))];
        }

        return new IdentitySlice(identity, [.. sorted], ImmutableCollectionsMarshal.AsImmutableArray(entries));
    }

    /// <summary>The entry of one key; entries attributed to a single policy are shared (interned per policy).</summary>
    private static PolicyEntry Entry(ReadOnlySpan<Contribution> group, PolicyVerdict verdict, L7Protocol l7, bool denyOnly)
    {
        CompiledPolicy? single = null;
        var several = false;
        var none = true;
        foreach (var c in group)
        {
            if ((denyOnly && !c.IsDeny) || c.PeerRule is not { } p)
            {
                continue;
            }

            none = false;
            var policy = p.Rule.Policy;
            if (single is null)
            {
                single = policy;
            }
            else if (!ReferenceEquals(single, policy))
            {
                several = true;
            }
        }

        if (none)
        {
            return verdict == PolicyVerdict.Allow && l7 == L7Protocol.None ? AllowAll : new PolicyEntry(verdict, l7, []);
        }

        if (!several)
        {
            return single!.Entry(verdict, l7);
        }

        var refs = new List<PolicyRef>();
        foreach (var c in group)
        {
            if ((!denyOnly || c.IsDeny) && c.Policy is { } r && !refs.Contains(r))
            {
                refs.Add(r);
            }
        }

        refs.Sort(PolicyRefComparer.Instance);
        return new PolicyEntry(verdict, l7, [.. refs]);
    }

    /// <summary>The allow-all entry of a direction without enforcement.</summary>
    internal static readonly PolicyEntry AllowAll = new(PolicyVerdict.Allow, L7Protocol.None, []);
}

/// <summary>Orders contributions by key, then by policy and rule paths, so slices are independent of rule order.</summary>
internal sealed class ContributionComparer : IComparer<Contribution>
{
    public static ContributionComparer Instance { get; } = new();

    public int Compare(Contribution x, Contribution y)
    {
        var c = KeyComparer.Instance.Compare(x.Key, y.Key);
        if (c != 0 || (ReferenceEquals(x.PeerRule, y.PeerRule) && ReferenceEquals(x.PortRule, y.PortRule)))
        {
            return c;
        }

        c = PolicyRefComparer.Instance.Compare(x.Policy, y.Policy);
        if (c == 0)
        {
            c = string.CompareOrdinal(x.PeerRule?.Rule.FieldPath, y.PeerRule?.Rule.FieldPath);
        }

        if (c == 0)
        {
            c = string.CompareOrdinal(x.PeerRule?.FieldPath, y.PeerRule?.FieldPath);
        }

        return c != 0 ? c : string.CompareOrdinal(x.PortRule?.FieldPath, y.PortRule?.FieldPath);
    }
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
