using CsCheck;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Policy.Tests.MapState;

/// <summary>The normative lookup of contracts.md, case by case.</summary>
public sealed class MapStateLookupTests
{
    private const uint Peer = 300;
    private static readonly PolicyRef P = new("CiliumNetworkPolicy", "default", "p");

    private static KeyValuePair<PolicyKey, PolicyEntry> E(uint identity, byte proto, ushort port, byte prefix, PolicyVerdict verdict, L7Protocol l7 = L7Protocol.None) =>
        KeyValuePair.Create(new PolicyKey(TrafficDirection.Ingress, identity, proto, port, prefix), new PolicyEntry(verdict, l7, [P]));

    private static MapLookupResult Look(params KeyValuePair<PolicyKey, PolicyEntry>[] entries) =>
        MapStateLookup.Lookup(entries, TrafficDirection.Ingress, Peer, 6, 80);

    [Fact]
    public void NoEntryIsPolicyDenied()
    {
        var r = Look(E(Peer, 6, 443, 16, PolicyVerdict.Allow), E(0, 17, 80, 16, PolicyVerdict.Allow), E(301, 0, 0, 0, PolicyVerdict.Allow));
        Assert.Equal(new MapLookupResult(LookupVerdict.Denied, PolicyDropReason.PolicyDenied, null), r);
    }

    [Fact]
    public void DenyOfThePeerWinsOverALongerWildcardAllow()
    {
        var r = Look(E(Peer, 0, 0, 0, PolicyVerdict.Deny), E(0, 6, 80, 16, PolicyVerdict.Allow));
        Assert.Equal(PolicyDropReason.PolicyDenyList, r.DropReason);
        Assert.Equal(Peer, r.Matched!.Value.Key.Identity);
    }

    [Fact]
    public void WildcardDenyWinsOverALongerPeerAllow()
    {
        var r = Look(E(Peer, 6, 80, 16, PolicyVerdict.Allow), E(0, 6, 0, 0, PolicyVerdict.Deny));
        Assert.Equal(PolicyDropReason.PolicyDenyList, r.DropReason);
        Assert.Equal(0u, r.Matched!.Value.Key.Identity);
    }

    [Fact]
    public void LongerPrefixIsPickedAndPeerWinsTies()
    {
        var redirect = Look(E(Peer, 0, 0, 0, PolicyVerdict.Allow), E(0, 6, 80, 16, PolicyVerdict.Redirect, L7Protocol.Http));
        Assert.Equal(LookupVerdict.Redirected, redirect.Verdict);
        var tie = Look(E(Peer, 6, 80, 16, PolicyVerdict.Allow), E(0, 6, 80, 16, PolicyVerdict.Redirect, L7Protocol.Http));
        Assert.Equal(LookupVerdict.Allowed, tie.Verdict);
        Assert.Equal(Peer, tie.Matched!.Value.Key.Identity);
        var peerLonger = Look(E(Peer, 6, 64, 10, PolicyVerdict.Redirect, L7Protocol.Kafka), E(0, 6, 0, 0, PolicyVerdict.Allow));
        Assert.Equal(LookupVerdict.Redirected, peerLonger.Verdict);
    }

    [Fact]
    public void LongestPrefixWithinOneIdentity()
    {
        var r = Look(E(Peer, 6, 0, 0, PolicyVerdict.Allow), E(Peer, 6, 64, 10, PolicyVerdict.Redirect, L7Protocol.Http), E(Peer, 0, 0, 0, PolicyVerdict.Allow));
        Assert.Equal(new PolicyKey(TrafficDirection.Ingress, Peer, 6, 64, 10), r.Matched!.Value.Key);
    }

    [Fact]
    public void OtherDirectionIsIgnored()
    {
        var egress = KeyValuePair.Create(new PolicyKey(TrafficDirection.Egress, 0, 0, 0, 0), new PolicyEntry(PolicyVerdict.Allow, L7Protocol.None, []));
        Assert.Equal(PolicyDropReason.PolicyDenied, Look(egress).DropReason);
    }

    [Theory]
    [InlineData(0, 0, 0, 6, 80, true)]
    [InlineData(0, 0, 0, 1, 8, true)]
    [InlineData(6, 80, 16, 6, 80, true)]
    [InlineData(6, 80, 16, 17, 80, false)]
    [InlineData(6, 80, 16, 6, 81, false)]
    [InlineData(6, 8080, 13, 6, 8087, true)]
    [InlineData(6, 8080, 13, 6, 8088, false)]
    [InlineData(17, 0, 0, 17, 65535, true)]
    [InlineData(1, 8, 16, 1, 8, true)]
    [InlineData(1, 8, 16, 1, 0, false)]
    public void KeysCoverPackets(byte proto, ushort port, byte prefix, byte packetProto, ushort packetPort, bool covers) =>
        Assert.Equal(covers, MapStateLookup.Covers(new PolicyKey(TrafficDirection.Ingress, 0, proto, port, prefix), packetProto, packetPort));

    [Fact]
    public void PrefixLengthOrdersProtocolZeroBelowEveryPortKey()
    {
        Assert.Equal(0, MapStateLookup.PrefixLength(new PolicyKey(TrafficDirection.Ingress, 0, 0, 0, 0)));
        Assert.Equal(8, MapStateLookup.PrefixLength(new PolicyKey(TrafficDirection.Ingress, 0, 6, 0, 0)));
        Assert.Equal(24, MapStateLookup.PrefixLength(new PolicyKey(TrafficDirection.Ingress, 0, 6, 80, 16)));
    }

    [Fact]
    public void PortRangesSplitIntoExactAlignedBlocks()
    {
        Gen.Select(Gen.UShort, Gen.UShort).Sample((x, y) =>
        {
            var (lo, hi) = x <= y ? (x, y) : (y, x);
            var blocks = PortPrefixes.Split(lo, hi);
            var next = (int)lo;
            foreach (var (port, prefix) in blocks)
            {
                var size = 1 << (16 - prefix);
                Assert.Equal(next, port);
                Assert.Equal(0, port % size);
                next += size;
            }

            Assert.Equal(hi + 1, next);
            Assert.True(blocks.Count <= 30);
        });
        Assert.Equal([((ushort)0, (byte)0)], PortPrefixes.Split(0, 65535));
        Assert.Equal([((ushort)8080, (byte)13), ((ushort)8088, (byte)15), ((ushort)8090, (byte)16)], PortPrefixes.Split(8080, 8090));
    }
}
