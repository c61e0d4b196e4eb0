using System.Net;

namespace Membrane.Policy.Identity;

/// <summary>Who put an ipcache entry there; when several sources claim one prefix, the highest value wins.</summary>
public enum IpCacheSource : byte
{
    /// <summary>A CIDR named by a policy (<c>fromCIDR</c>, <c>toCIDRSet</c>, ...) with its local CIDR identity.</summary>
    PolicyCidr = 0,

    /// <summary>An identity learned from elsewhere (another node, a kvstore, the agent's configuration).</summary>
    Remote = 1,

    /// <summary>A local endpoint's address.</summary>
    Endpoint = 2,
}

/// <summary>One ipcache mapping.</summary>
/// <param name="Prefix">The IP prefix.</param>
/// <param name="Identity">Its security identity.</param>
/// <param name="Source">The source whose claim won.</param>
public readonly record struct IpCacheEntry(IpPrefix Prefix, NumericIdentity Identity, IpCacheSource Source);

/// <summary>A change of the identity a prefix resolves to; null means "no mapping".</summary>
/// <param name="Prefix">The prefix.</param>
/// <param name="Old">The identity before, or null if the prefix was absent.</param>
/// <param name="New">The identity after, or null if the prefix was removed.</param>
public readonly record struct IpCacheChange(IpPrefix Prefix, NumericIdentity? Old, NumericIdentity? New);

/// <summary>
/// The ipcache (reference §4.3): IP prefix → security identity, resolved by longest prefix match; an address no
/// prefix covers is <c>reserved:world</c>. Lookups are lock-free and safe from any thread (the proxy resolves peers
/// on socket threads); writers are serialized. A kvstore-backed cache implements the same interface later.
/// </summary>
public interface IIpCache
{
    /// <summary>Raised after each write that changes what a prefix resolves to (on the writer's thread).</summary>
    event Action<IpCacheChange>? Changed;

    /// <summary>Claims <paramref name="prefix"/> for <paramref name="identity"/> on behalf of <paramref name="source"/>.</summary>
    void Upsert(IpPrefix prefix, NumericIdentity identity, IpCacheSource source);

    /// <summary>Withdraws <paramref name="source"/>'s claim on <paramref name="prefix"/>; false if it had none.</summary>
    bool Delete(IpPrefix prefix, IpCacheSource source);

    /// <summary>The longest-prefix entry covering <paramref name="address"/>.</summary>
    bool TryLookup(IPAddress address, out IpCacheEntry entry);

    /// <summary>The identity of <paramref name="address"/>: its longest-prefix entry, else <c>reserved:world</c>.</summary>
    NumericIdentity Lookup(IPAddress address);

    /// <summary>The winning entry of every prefix, ordered by prefix.</summary>
    IReadOnlyList<IpCacheEntry> Entries();
}
