using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

// Mirrors of bpf/include/membrane/shared.h, with the C names. LayoutTests compares every field with the BTF of the
// compiled objects, so a change on either side that is not made on the other fails the build's tests.
#pragma warning disable SA1300, SA1307, IDE1006 // C names on purpose

/// <summary><c>struct policy_key</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct policy_key
{
    [FieldOffset(0)] public uint identity;
    [FieldOffset(4)] public ushort dport;
    [FieldOffset(6)] public byte protocol;
    [FieldOffset(7)] public byte traffic;
}

/// <summary><c>struct policy_value</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct policy_value
{
    [FieldOffset(0)] public uint cookie;
    [FieldOffset(4)] public ushort proxy_port;
    [FieldOffset(6)] public byte verdict;
    [FieldOffset(7)] public byte l7_protocol;
}

/// <summary><c>struct policy_meta</c> (value of the two meta keys of a policy map).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct policy_meta
{
    [FieldOffset(0)] public uint peer_prefixes;
    [FieldOffset(4)] public uint any_prefixes;
}

/// <summary><c>struct endpoint_info</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct endpoint_info
{
    [FieldOffset(0)] public uint ipv4;
    [FieldOffset(4)] public uint identity;
    [FieldOffset(8)] public uint policy_generation;
    [FieldOffset(12)] public ushort endpoint_id;
    [FieldOffset(14)] public ushort flags;
    [FieldOffset(16)] public policy_meta ingress_meta;
    [FieldOffset(24)] public policy_meta egress_meta;
}

/// <summary><c>struct ipcache_prefix_key</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct ipcache_prefix_key
{
    [FieldOffset(0)] public uint prefixlen;
    [FieldOffset(4)] public uint addr;
}

/// <summary><c>struct ipcache_value</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct ipcache_value
{
    [FieldOffset(0)] public uint identity;
    [FieldOffset(4)] public ushort endpoint_id;
    [FieldOffset(6)] public ushort flags;
}

/// <summary><c>struct ct_key</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ct_key
{
    [FieldOffset(0)] public uint saddr;
    [FieldOffset(4)] public uint daddr;
    [FieldOffset(8)] public ushort sport;
    [FieldOffset(10)] public ushort dport;
    [FieldOffset(12)] public byte protocol;
    [FieldOffset(13)] public byte direction;
    [FieldOffset(14)] public ushort pad;
}

/// <summary><c>struct ct_entry</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct ct_entry
{
    [FieldOffset(0)] public ulong forward_packets;
    [FieldOffset(8)] public ulong forward_bytes;
    [FieldOffset(16)] public ulong reply_packets;
    [FieldOffset(24)] public ulong reply_bytes;
    [FieldOffset(32)] public uint expires;
    [FieldOffset(36)] public uint created;
    [FieldOffset(40)] public uint policy_generation;
    [FieldOffset(44)] public uint src_identity;
    [FieldOffset(48)] public uint dst_identity;
    [FieldOffset(52)] public uint cookie;
    [FieldOffset(56)] public ushort endpoint_id;
    [FieldOffset(58)] public ushort proxy_port;
    [FieldOffset(60)] public ushort flags;
    [FieldOffset(62)] public byte forward_tcp_flags;
    [FieldOffset(63)] public byte reply_tcp_flags;
}

/// <summary><c>struct datapath_config</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct datapath_config
{
    [FieldOffset(0)] public uint flags;
    [FieldOffset(4)] public uint ct_lifetime_tcp;
    [FieldOffset(8)] public uint ct_lifetime_tcp_syn;
    [FieldOffset(12)] public uint ct_lifetime_tcp_close;
    [FieldOffset(16)] public uint ct_lifetime_other;
    [FieldOffset(20)] public uint pad;
}

/// <summary><c>struct datapath_event</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal unsafe struct datapath_event
{
    [FieldOffset(0)] public ulong timestamp_ns;
    [FieldOffset(8)] public byte type;
    [FieldOffset(9)] public byte sub_type;
    [FieldOffset(10)] public ushort reason;
    [FieldOffset(12)] public uint ifindex;
    [FieldOffset(16)] public uint src_identity;
    [FieldOffset(20)] public uint dst_identity;
    [FieldOffset(24)] public uint saddr;
    [FieldOffset(28)] public uint daddr;
    [FieldOffset(32)] public ushort sport;
    [FieldOffset(34)] public ushort dport;
    [FieldOffset(36)] public byte protocol;
    [FieldOffset(37)] public byte tcp_flags;
    [FieldOffset(38)] public byte direction;
    [FieldOffset(39)] public byte flags;
    [FieldOffset(40)] public ushort endpoint_id;
    [FieldOffset(42)] public ushort proxy_port;
    [FieldOffset(44)] public uint cookie;
    [FieldOffset(48)] public uint packet_length;
    [FieldOffset(52)] public byte match_type;
    [FieldOffset(53)] public fixed byte pad[3];
}

/// <summary><c>struct metrics_value</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct metrics_value
{
    [FieldOffset(0)] public ulong packets;
    [FieldOffset(8)] public ulong bytes;
}

#pragma warning restore SA1300, SA1307, IDE1006

/// <summary>
/// Constants of <c>shared.h</c> the C# side uses, with their C names; LayoutTests checks each value against the
/// header through the C preprocessor.
/// </summary>
#pragma warning disable SA1310, CA1707 // C names on purpose
internal static class SharedConstants
{
    public const uint MARK_MAGIC_MASK = 0x0F00;
    public const uint MARK_MAGIC_TO_PROXY = 0x0200;
    public const uint MARK_MAGIC_FROM_PROXY = 0x0B00;
    public const int MARK_IDENTITY_SHIFT = 16;

    public const int DIR_INGRESS = 0;
    public const int DIR_EGRESS = 1;

    public const int VERDICT_ALLOW = 0;
    public const int VERDICT_DENY = 1;
    public const int VERDICT_REDIRECT = 2;

    public const int L7_NONE = 0;
    public const int L7_HTTP = 1;
    public const int L7_KAFKA = 2;

    public const int ENDPOINT_IFINDEX_MAX = 65536;
    public const int ENDPOINT_ID_MAX = 65536;
    public const int POLICY_MAP_MAX = 16384;
    public const int IPCACHE_HOSTS_MAX = 131072;
    public const int IPCACHE_CIDRS_MAX = 16384;
    public const int METRICS_MAX = 512;
    public const int COUNTERS_MAX = 8;

    public const int POLICY_TRAFFIC_DIRECTION = 0x01;
    public const int POLICY_TRAFFIC_PREFIX_SHIFT = 1;
    public const int POLICY_PREFIX_ANY_PROTOCOL = 17;
    public const uint POLICY_META_HAS_REDIRECT = 0x80000000;

    public const int ENDPOINT_F_ACTIVE = 0x0001;
    public const int IPCACHE_F_LOCAL_ENDPOINT = 0x0001;
    public const int IPCACHE_F_INGRESS_REDIRECT = 0x0002;

    public const int CT_F_SEEN_REPLY = 0x0001;
    public const int CT_F_FORWARD_FIN = 0x0002;
    public const int CT_F_REPLY_FIN = 0x0004;
    public const int CT_F_RESET = 0x0008;
    public const int CT_F_PROXY_REDIRECT = 0x0010;
    public const int CT_F_PROXY_UPSTREAM = 0x0020;

    public const int CONFIG_F_POLICY_VERDICT_EVENTS = 0x0001;
    public const int CONFIG_F_TRACE_EVENTS = 0x0002;
    public const int CONFIG_F_TRACE_ALL_PACKETS = 0x0004;

    public const int EVENT_DROP = 1;
    public const int EVENT_TRACE = 4;
    public const int EVENT_POLICY_VERDICT = 5;

    public const int EVENT_F_REPLY = 0x01;
    public const int EVENT_F_FROM_PROXY = 0x02;
    public const int EVENT_F_REVALIDATED = 0x04;

    public const int METRICS_REASON_FORWARDED = 0;

    public const int COUNTER_EVENTS_LOST = 0;
    public const int COUNTER_PROXY_REDIRECTS = 1;
    public const int COUNTER_POLICY_REVALIDATIONS = 2;

    /// <summary><c>POLICY_META_TRAFFIC(dir)</c>.</summary>
    public static byte PolicyMetaTraffic(byte direction) => (byte)(0xFE | direction);
}
#pragma warning restore SA1310, CA1707
