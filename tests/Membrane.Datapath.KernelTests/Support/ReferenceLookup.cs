using Membrane.Datapath.Events;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>
/// The normative map-state lookup of docs/design/contracts.md, written directly from the contract text and
/// independent of the datapath's encoding. The kernel must agree with it for every case (policy-core will own the
/// production copy; the lead points both at one implementation).
/// </summary>
internal static class ReferenceLookup
{
    /// <summary>The verdict of one endpoint's map for a packet from/to <paramref name="peer"/>.</summary>
    public static LookupResult Evaluate(IReadOnlyDictionary<PolicyKey, PolicyEntry> map, TrafficDirection direction, uint peer, byte protocol, ushort port)
    {
        var a = Longest(map, direction, peer, protocol, port);
        var b = Longest(map, direction, 0, protocol, port);
        if (a?.Entry.Verdict == PolicyVerdict.Deny || b?.Entry.Verdict == PolicyVerdict.Deny)
        {
            return new LookupResult(PolicyVerdict.Deny, DropReason.PolicyDeny, a?.Entry.Verdict == PolicyVerdict.Deny ? a.Value.Entry : b!.Value.Entry);
        }

        if (a is null && b is null)
        {
            return new LookupResult(PolicyVerdict.Deny, DropReason.PolicyDenied, null);
        }

        var pick = a is not null && (b is null || a.Value.Prefix >= b.Value.Prefix) ? a.Value : b!.Value;
        return new LookupResult(pick.Entry.Verdict, DropReason.None, pick.Entry);
    }

    /// <summary>Prefix length of a key for ordering: 0 for protocol 0, else 8 + port prefix length.</summary>
    public static int PrefixLength(PolicyKey key) => key.Protocol == 0 ? 0 : 8 + key.PortPrefixLength;

    private static (PolicyEntry Entry, int Prefix)? Longest(IReadOnlyDictionary<PolicyKey, PolicyEntry> map, TrafficDirection direction, uint identity, byte protocol, ushort port)
    {
        (PolicyEntry Entry, int Prefix)? best = null;
        foreach (var (key, entry) in map)
        {
            if (key.Direction != direction || key.Identity != identity || !Covers(key, protocol, port))
            {
                continue;
            }

            var prefix = PrefixLength(key);
            if (best is null || prefix > best.Value.Prefix)
            {
                best = (entry, prefix);
            }
        }

        return best;
    }

    private static bool Covers(PolicyKey key, byte protocol, ushort port)
    {
        if (key.Protocol == 0)
        {
            return true;
        }

        if (key.Protocol != protocol)
        {
            return false;
        }

        var mask = key.PortPrefixLength == 0 ? 0 : 0xFFFF << (16 - key.PortPrefixLength);
        return (port & mask) == (key.Port & mask);
    }
}

/// <summary>Outcome of <see cref="ReferenceLookup.Evaluate"/>.</summary>
internal readonly record struct LookupResult(PolicyVerdict Verdict, DropReason Reason, PolicyEntry? Entry)
{
    public bool Passes => Verdict != PolicyVerdict.Deny;
}
