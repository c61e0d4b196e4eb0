using System.Buffers.Binary;
using Membrane.Datapath.Interop;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Datapath.Maps;

/// <summary>
/// Translates map-state keys and entries (Membrane.Policy.MapState) to the kernel's <c>policy_key</c> /
/// <c>policy_value</c> and back, and computes the per-direction prefix masks of a map's meta entries. Kernel keys
/// and values are handled packed into 64-bit integers (their little-endian byte images) so that they hash and
/// compare cheaply in the C# mirrors.
/// </summary>
internal static class PolicyCodec
{
    private const byte MetaTrafficIngress = 0xFE;
    private const byte MetaTrafficEgress = 0xFF;

    /// <summary>Packed meta key of a direction.</summary>
    public static ulong MetaKey(TrafficDirection direction) =>
        Pack(new policy_key { traffic = SharedConstants.PolicyMetaTraffic((byte)direction) });

    public static bool IsMetaKey(ulong packedKey) => (byte)(packedKey >> 56) is MetaTrafficIngress or MetaTrafficEgress;

    /// <summary>Checks a key against the contract (docs/design/contracts.md) and returns its kernel form.</summary>
    /// <exception cref="ArgumentException">The key is outside the contract.</exception>
    public static policy_key EncodeKey(PolicyKey key)
    {
        if (key.Direction is not (TrafficDirection.Ingress or TrafficDirection.Egress))
        {
            throw new ArgumentException($"policy key {Describe(key)}: direction {(int)key.Direction} is neither ingress nor egress");
        }

        if (key.PortPrefixLength > 16)
        {
            throw new ArgumentException($"policy key {Describe(key)}: port prefix length {key.PortPrefixLength} is outside 0..16");
        }

        var direction = (byte)key.Direction;
        if (key.Protocol == 0)
        {
            if (key.Port != 0 || key.PortPrefixLength != 0)
            {
                throw new ArgumentException($"policy key {Describe(key)}: a key for any protocol (0) cannot name a port");
            }

            return new policy_key { identity = key.Identity, traffic = direction };
        }

        // Bits beyond the prefix are "don't care" (PolicyKey.FirstPort masks them the same way).
        var mask = key.PortPrefixLength == 0 ? 0 : 0xFFFF << (16 - key.PortPrefixLength);
        return new policy_key
        {
            identity = key.Identity,
            dport = BinaryPrimitives.ReverseEndianness((ushort)(key.Port & mask)),
            protocol = key.Protocol,
            traffic = (byte)(direction | (key.PortPrefixLength << SharedConstants.POLICY_TRAFFIC_PREFIX_SHIFT)),
        };
    }

    public static PolicyKey DecodeKey(policy_key key)
    {
        var direction = (TrafficDirection)(key.traffic & SharedConstants.POLICY_TRAFFIC_DIRECTION);
        var prefix = (byte)(key.traffic >> SharedConstants.POLICY_TRAFFIC_PREFIX_SHIFT);
        return new PolicyKey(direction, key.identity, key.protocol, BinaryPrimitives.ReverseEndianness(key.dport), key.protocol == 0 ? (byte)0 : prefix);
    }

    /// <summary>Kernel value of an entry. <paramref name="proxyPorts"/> gives the listener port per L7 protocol.</summary>
    /// <exception cref="ArgumentException">A redirect without an L7 protocol, or for one without a configured port.</exception>
    public static policy_value EncodeValue(PolicyKey key, PolicyEntry entry, uint cookie, ProxyPorts proxyPorts)
    {
        ushort proxyPort = 0;
        switch (entry.Verdict)
        {
            case PolicyVerdict.Allow:
            case PolicyVerdict.Deny:
                break;
            case PolicyVerdict.Redirect:
                proxyPort = entry.L7 switch
                {
                    L7Protocol.Http => proxyPorts.Http,
                    L7Protocol.Kafka => proxyPorts.Kafka,
                    _ => throw new ArgumentException($"policy key {Describe(key)}: a redirect entry needs an L7 protocol (got {entry.L7})"),
                };
                if (proxyPort == 0)
                {
                    throw new ArgumentException($"policy key {Describe(key)}: no proxy port is configured for {entry.L7}");
                }

                break;
            default:
                throw new ArgumentException($"policy key {Describe(key)}: unknown verdict {(int)entry.Verdict}");
        }

        return new policy_value { cookie = cookie, proxy_port = proxyPort, verdict = (byte)entry.Verdict, l7_protocol = (byte)entry.L7 };
    }

    /// <summary>Bit of a (non-meta) key in its direction's prefix mask.</summary>
    public static uint PrefixBit(policy_key key) =>
        key.protocol == 0 ? 1u << SharedConstants.POLICY_PREFIX_ANY_PROTOCOL : 1u << (key.traffic >> SharedConstants.POLICY_TRAFFIC_PREFIX_SHIFT);

    /// <summary>Adds the two meta entries describing <paramref name="entries"/> (replacing earlier ones).</summary>
    public static void AddMeta(Dictionary<ulong, ulong> entries)
    {
        var ingress = default(policy_meta);
        var egress = default(policy_meta);
        foreach (var packed in entries.Keys)
        {
            if (IsMetaKey(packed))
            {
                continue;
            }

            var key = UnpackKey(packed);
            ref var meta = ref (key.traffic & SharedConstants.POLICY_TRAFFIC_DIRECTION) == SharedConstants.DIR_INGRESS ? ref ingress : ref egress;
            if (UnpackValue(entries[packed]).verdict == SharedConstants.VERDICT_REDIRECT)
            {
                meta.any_prefixes |= SharedConstants.POLICY_META_HAS_REDIRECT;
            }

            if (key.identity == 0)
            {
                meta.any_prefixes |= PrefixBit(key);
            }
            else
            {
                meta.peer_prefixes |= PrefixBit(key);
            }
        }

        entries[MetaKey(TrafficDirection.Ingress)] = Pack(ingress);
        entries[MetaKey(TrafficDirection.Egress)] = Pack(egress);
    }

    /// <summary>The packed meta value of a direction in packed contents (0 when absent).</summary>
    public static ulong Meta(Dictionary<ulong, ulong> contents, TrafficDirection direction) =>
        contents.GetValueOrDefault(MetaKey(direction));

    /// <summary>Whether packed contents (with their meta entries, see <see cref="AddMeta"/>) hold ingress redirect entries.</summary>
    public static bool HasIngressRedirect(Dictionary<ulong, ulong> contents) =>
        contents.TryGetValue(MetaKey(TrafficDirection.Ingress), out var meta) && HasRedirect(meta);

    /// <summary>Whether a packed meta value marks its direction as holding redirect entries.</summary>
    public static bool HasRedirect(ulong packedMeta) => (UnpackMeta(packedMeta).any_prefixes & SharedConstants.POLICY_META_HAS_REDIRECT) != 0;

    public static ulong Pack(policy_key k) =>
        k.identity | ((ulong)k.dport << 32) | ((ulong)k.protocol << 48) | ((ulong)k.traffic << 56);

    public static policy_key UnpackKey(ulong p) =>
        new() { identity = (uint)p, dport = (ushort)(p >> 32), protocol = (byte)(p >> 48), traffic = (byte)(p >> 56) };

    public static ulong Pack(policy_value v) =>
        v.cookie | ((ulong)v.proxy_port << 32) | ((ulong)v.verdict << 48) | ((ulong)v.l7_protocol << 56);

    public static policy_value UnpackValue(ulong p) =>
        new() { cookie = (uint)p, proxy_port = (ushort)(p >> 32), verdict = (byte)(p >> 48), l7_protocol = (byte)(p >> 56) };

    public static ulong Pack(policy_meta m) => m.peer_prefixes | ((ulong)m.any_prefixes << 32);

    public static policy_meta UnpackMeta(ulong p) => new() { peer_prefixes = (uint)p, any_prefixes = (uint)(p >> 32) };

    private static string Describe(PolicyKey key) =>
        $"({key.Direction}, identity {key.Identity}, protocol {key.Protocol}, port {key.Port}/{key.PortPrefixLength})";
}
