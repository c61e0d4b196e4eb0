using System.Buffers.Binary;
using System.Net;

namespace Membrane.Observer.Flows;

/// <summary>
/// The <c>flow 0x…</c> value of monitor lines: a symmetric hash of a connection's addresses, ports and protocol, so
/// every packet and every proxy request of one connection carries the same value in both directions and the kernel's
/// events can be matched with the proxy's. Cilium prints the kernel's skb hash there, which the flow dissector also
/// computes symmetrically (net/core/flow_dissector.c, <c>__flow_hash_consistentify</c>); Membrane computes its own in
/// the agent rather than paying <c>bpf_get_hash_recalc</c> on the datapath's event path. Never 0 for a known tuple.
/// </summary>
public static class FlowHash
{
    /// <summary>The hash of a connection; the two ends may be given in either order.</summary>
    public static uint Of(IPAddress? a, ushort aPort, IPAddress? b, ushort bPort, byte protocol)
    {
        if (a is null || b is null)
        {
            return 0;
        }

        Span<byte> first = stackalloc byte[18];
        Span<byte> second = stackalloc byte[18];
        if (!a.TryWriteBytes(first, out var firstLength) || !b.TryWriteBytes(second, out var secondLength))
        {
            return 0;
        }

        BinaryPrimitives.WriteUInt16BigEndian(first[firstLength..], aPort);
        BinaryPrimitives.WriteUInt16BigEndian(second[secondLength..], bPort);
        ReadOnlySpan<byte> x = first[..(firstLength + 2)];
        ReadOnlySpan<byte> y = second[..(secondLength + 2)];
        var ordered = x.SequenceCompareTo(y) <= 0;

        // FNV-1a (32-bit) over the ends in a fixed order and the protocol.
        var hash = 2166136261u;
        hash = Mix(hash, ordered ? x : y);
        hash = Mix(hash, ordered ? y : x);
        hash = (hash ^ protocol) * 16777619u;
        return hash == 0 ? 1u : hash;
    }

    private static uint Mix(uint hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }
}
