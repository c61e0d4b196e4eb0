using Membrane.Policy.Model;

namespace Membrane.Policy.MapState;

/// <summary>The policy drop reasons of the lookup (Cilium <c>pkg/monitor/api/drop.go</c>).</summary>
public enum PolicyDropReason : byte
{
    /// <summary>Not dropped.</summary>
    None = 0,

    /// <summary>133 "Policy denied": no entry allows the packet (default deny).</summary>
    PolicyDenied = 133,

    /// <summary>181 "Policy denied by denylist": a deny entry matched.</summary>
    PolicyDenyList = 181,
}

/// <summary>What the lookup decided.</summary>
public enum LookupVerdict : byte
{
    /// <summary>Pass the packet.</summary>
    Allowed,

    /// <summary>Pass it to the L7 proxy (<see cref="MapLookupResult.Matched"/> names the engine).</summary>
    Redirected,

    /// <summary>Drop it (<see cref="MapLookupResult.DropReason"/> says why).</summary>
    Denied,
}

/// <summary>The outcome of <see cref="MapStateLookup"/>.</summary>
/// <param name="Verdict">Allowed, redirected or denied.</param>
/// <param name="DropReason">133 or 181 when denied; <see cref="PolicyDropReason.None"/> otherwise.</param>
/// <param name="Matched">The entry that decided: the picked entry, the deny entry, or null for 133.</param>
public readonly record struct MapLookupResult(
    LookupVerdict Verdict,
    PolicyDropReason DropReason,
    KeyValuePair<PolicyKey, PolicyEntry>? Matched)
{
    /// <summary>True unless denied.</summary>
    public bool IsAllowed => Verdict != LookupVerdict.Denied;
}

/// <summary>
/// The normative policy lookup of <c>docs/design/contracts.md</c> ("Policy → Datapath"), identical to the BPF
/// program's: the longest-prefix entry for the peer's identity (a) and for identity 0 (b); a deny in either drops with
/// 181; neither drops with 133; otherwise the longer prefix wins, a on a tie.
/// </summary>
public static class MapStateLookup
{
    /// <summary>Prefix length of a key for ordering: 0 for protocol 0, else 8 + port prefix length.</summary>
    public static int PrefixLength(PolicyKey key) => key.Protocol == 0 ? 0 : 8 + key.PortPrefixLength;

    /// <summary>True if <paramref name="key"/> covers a packet of <paramref name="protocol"/> to <paramref name="port"/> (ICMP: the type).</summary>
    public static bool Covers(PolicyKey key, byte protocol, ushort port)
    {
        if (key.Protocol == 0)
        {
            return true;
        }

        if (key.Protocol != protocol)
        {
            return false;
        }

        var mask = key.PortPrefixLength == 0 ? 0 : (ushort)(0xFFFF << (16 - key.PortPrefixLength));
        return (port & mask) == (key.Port & mask);
    }

    /// <summary>Looks a packet up in one endpoint's map state (all entries of both directions may be passed).</summary>
    public static MapLookupResult Lookup(
        IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> entries,
        TrafficDirection direction,
        uint peerIdentity,
        byte protocol,
        ushort port)
    {
        ArgumentNullException.ThrowIfNull(entries);
        KeyValuePair<PolicyKey, PolicyEntry>? a = null;
        KeyValuePair<PolicyKey, PolicyEntry>? b = null;
        foreach (var e in entries)
        {
            var k = e.Key;
            if (k.Direction != direction || !Covers(k, protocol, port))
            {
                continue;
            }

            if (k.Identity == peerIdentity)
            {
                a = Longer(a, e);
            }

            if (k.Identity == 0)
            {
                b = Longer(b, e);
            }
        }

        return Decide(a, b);
    }

    /// <summary>The decision once the best entries for the peer (a) and for identity 0 (b) are known.</summary>
    public static MapLookupResult Decide(KeyValuePair<PolicyKey, PolicyEntry>? a, KeyValuePair<PolicyKey, PolicyEntry>? b)
    {
        if (a is { Value.Verdict: PolicyVerdict.Deny })
        {
            return new MapLookupResult(LookupVerdict.Denied, PolicyDropReason.PolicyDenyList, a);
        }

        if (b is { Value.Verdict: PolicyVerdict.Deny })
        {
            return new MapLookupResult(LookupVerdict.Denied, PolicyDropReason.PolicyDenyList, b);
        }

        if (a is null && b is null)
        {
            return new MapLookupResult(LookupVerdict.Denied, PolicyDropReason.PolicyDenied, null);
        }

        var pick = a is null ? b!.Value : b is null ? a.Value : PrefixLength(b.Value.Key) > PrefixLength(a.Value.Key) ? b.Value : a.Value;
        return new MapLookupResult(
            pick.Value.Verdict == PolicyVerdict.Redirect ? LookupVerdict.Redirected : LookupVerdict.Allowed,
            PolicyDropReason.None,
            pick);
    }

    /// <summary>Keeps the entry with the longer prefix; on equal prefixes the more specific (smaller) port block is
    /// impossible (equal prefix and both covering means the same block), so the first one stays.</summary>
    internal static KeyValuePair<PolicyKey, PolicyEntry>? Longer(KeyValuePair<PolicyKey, PolicyEntry>? best, KeyValuePair<PolicyKey, PolicyEntry> candidate) =>
        best is null || PrefixLength(candidate.Key) > PrefixLength(best.Value.Key) ? candidate : best;
}
