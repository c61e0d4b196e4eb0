using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Membrane.Datapath.Interop;
using Membrane.Policy.Identity;

namespace Membrane.Datapath.Maps;

/// <summary>
/// The ipcache: /32 entries in the <c>ipcache_hosts</c> hash, shorter prefixes in the <c>ipcache_cidrs</c> LPM trie
/// (bpf/lib/ipcache.h explains the split). Entries of local endpoints carry the endpoint id so that
/// from-container can evaluate the destination's ingress policy.
/// </summary>
internal sealed class IpcacheMaps
{
    private readonly BpfMap _hosts;
    private readonly BpfMap _cidrs;

    public IpcacheMaps(BpfMap hosts, BpfMap cidrs)
    {
        _hosts = hosts;
        _cidrs = cidrs;
    }

    public static IPNetwork Validate(IPNetwork prefix)
    {
        if (prefix.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"ipcache prefix {prefix}: only IPv4 is supported by the datapath");
        }

        return prefix;
    }

    /// <summary>Maps a prefix that no local endpoint owns.</summary>
    public void Upsert(IPNetwork prefix, uint identity) => Write(prefix, new ipcache_value { identity = identity });

    /// <summary>Writes a local endpoint's /32 entry: its identity, its id and its ingress redirect hint.</summary>
    public void UpsertEndpoint(EndpointRecord endpoint)
    {
        var flags = SharedConstants.IPCACHE_F_LOCAL_ENDPOINT | (endpoint.IngressRedirectHint ? SharedConstants.IPCACHE_F_INGRESS_REDIRECT : 0);
        Write(new IPNetwork(endpoint.Address, 32), new ipcache_value { identity = endpoint.Identity, endpoint_id = endpoint.Id, flags = (ushort)flags });
    }

    /// <summary>Whether a local endpoint's entry carries the ingress redirect hint (what a restarted agent finds).</summary>
    public bool HasIngressRedirectHint(IPAddress address) =>
        _hosts.TryLookup(AddressCodec.ToNetworkOrder(address), out ipcache_value value) && (value.flags & SharedConstants.IPCACHE_F_INGRESS_REDIRECT) != 0;

    public bool Delete(IPNetwork prefix)
    {
        Validate(prefix);
        return prefix.PrefixLength == 32
            ? _hosts.Delete(AddressCodec.ToNetworkOrder(prefix.BaseAddress))
            : _cidrs.Delete(PrefixKey(prefix));
    }

    public IpcacheEntry? Get(IPNetwork prefix)
    {
        Validate(prefix);
        var found = prefix.PrefixLength == 32
            ? _hosts.TryLookup(AddressCodec.ToNetworkOrder(prefix.BaseAddress), out ipcache_value value)
            : _cidrs.TryLookup(PrefixKey(prefix), out value);
        return found ? new IpcacheEntry(prefix, new NumericIdentity(value.identity), value.endpoint_id) : null;
    }

    public List<IpcacheEntry> List()
    {
        var entries = new List<IpcacheEntry>();
        foreach (var (address, value) in _hosts.Entries<uint, ipcache_value>())
        {
            entries.Add(new IpcacheEntry(new IPNetwork(AddressCodec.FromNetworkOrder(address), 32), new NumericIdentity(value.identity), value.endpoint_id));
        }

        foreach (var (key, value) in _cidrs.Entries<ipcache_prefix_key, ipcache_value>())
        {
            entries.Add(new IpcacheEntry(new IPNetwork(AddressCodec.FromNetworkOrder(key.addr), (int)key.prefixlen), new NumericIdentity(value.identity), value.endpoint_id));
        }

        entries.Sort((a, b) => Compare(a.Prefix, b.Prefix));
        return entries;
    }

    public (int Hosts, int Cidrs) Count() => (_hosts.Keys<uint>().Count, _cidrs.Keys<ipcache_prefix_key>().Count);

    private void Write(IPNetwork prefix, ipcache_value value)
    {
        Validate(prefix);
        if (prefix.PrefixLength == 32)
        {
            _hosts.Update(AddressCodec.ToNetworkOrder(prefix.BaseAddress), value);
        }
        else
        {
            _cidrs.Update(PrefixKey(prefix), value);
        }
    }

    private static ipcache_prefix_key PrefixKey(IPNetwork prefix) =>
        new() { prefixlen = (uint)prefix.PrefixLength, addr = AddressCodec.ToNetworkOrder(prefix.BaseAddress) };

    private static int Compare(IPNetwork a, IPNetwork b)
    {
        var x = BinaryPrimitives.ReverseEndianness(AddressCodec.ToNetworkOrder(a.BaseAddress));
        var y = BinaryPrimitives.ReverseEndianness(AddressCodec.ToNetworkOrder(b.BaseAddress));
        return x != y ? x.CompareTo(y) : a.PrefixLength.CompareTo(b.PrefixLength);
    }
}
