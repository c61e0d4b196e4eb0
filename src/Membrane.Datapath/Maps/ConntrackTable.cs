using System.Buffers.Binary;
using Membrane.Datapath.Interop;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Maps;

/// <summary>The <c>conntrack</c> LRU hash: listing, garbage collection, per-endpoint flush.</summary>
internal sealed class ConntrackTable
{
    private readonly BpfMap _map;

    public ConntrackTable(BpfMap map) => _map = map;

    public static uint NowSeconds() => (uint)(Libc.MonotonicNanoseconds() / 1_000_000_000UL);

    public List<ConntrackEntry> List()
    {
        var now = NowSeconds();
        var list = new List<ConntrackEntry>();
        foreach (var (key, value) in _map.Entries<ct_key, ct_entry>())
        {
            list.Add(Decode(key, value, now));
        }

        return list;
    }

    /// <summary>Deletes expired entries; returns how many.</summary>
    public int CollectGarbage()
    {
        var now = NowSeconds();
        var deleted = 0;
        foreach (var key in _map.Keys<ct_key>())
        {
            // Re-read: the datapath may have refreshed the entry since the key was listed.
            if (_map.TryLookup(key, out ct_entry entry) && entry.expires <= now && _map.Delete(key))
            {
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Deletes every entry created for <paramref name="endpointId"/>; returns how many.</summary>
    public int Flush(ushort endpointId)
    {
        var deleted = 0;
        foreach (var key in _map.Keys<ct_key>())
        {
            if (_map.TryLookup(key, out ct_entry entry) && entry.endpoint_id == endpointId && _map.Delete(key))
            {
                deleted++;
            }
        }

        return deleted;
    }

    public int Count() => _map.Keys<ct_key>().Count;

    private static ConntrackEntry Decode(ct_key key, ct_entry value, uint now)
    {
        var flags = (ConntrackFlags)value.flags;
        var closing = flags.HasFlag(ConntrackFlags.Reset) || (flags.HasFlag(ConntrackFlags.ForwardFin) && flags.HasFlag(ConntrackFlags.ReplyFin));
        var state = value.expires <= now ? ConntrackState.Expired
            : key.protocol == 6 && closing ? ConntrackState.Closing
            : flags.HasFlag(ConntrackFlags.SeenReply) ? ConntrackState.Established
            : ConntrackState.New;
        return new ConntrackEntry(
            key.protocol,
            AddressCodec.FromNetworkOrder(key.saddr),
            BinaryPrimitives.ReverseEndianness(key.sport),
            AddressCodec.FromNetworkOrder(key.daddr),
            BinaryPrimitives.ReverseEndianness(key.dport),
            (TrafficDirection)key.direction,
            value.endpoint_id,
            new NumericIdentity(value.src_identity),
            new NumericIdentity(value.dst_identity),
            state,
            flags,
            value.forward_packets,
            value.forward_bytes,
            value.reply_packets,
            value.reply_bytes,
            (TcpFlags)value.forward_tcp_flags,
            (TcpFlags)value.reply_tcp_flags,
            value.proxy_port,
            value.cookie,
            value.policy_generation,
            TimeSpan.FromSeconds(now - value.created),
            TimeSpan.FromSeconds((long)value.expires - now));
    }
}
