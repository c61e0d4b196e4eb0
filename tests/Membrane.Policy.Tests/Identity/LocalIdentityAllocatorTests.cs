using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Policy.Tests.Identity;

public sealed class LocalIdentityAllocatorTests
{
    private static LabelSet L(string text) => LabelSet.Parse(text);

    [Theory]
    [InlineData("reserved:host", 1u)]
    [InlineData("reserved:world", 2u)]
    [InlineData("reserved:health", 4u)]
    [InlineData("reserved:world-ipv6", 10u)]
    public void ReservedLabelSetsResolveToReservedNumbers(string labels, uint expected)
    {
        var a = new LocalIdentityAllocator();
        Assert.Equal(expected, a.Allocate(L(labels)).Value);
        Assert.True(a.TryGetLabels(new NumericIdentity(expected), out var back));
        Assert.Equal(L(labels), back);
        Assert.False(a.Release(new NumericIdentity(expected)));
    }

    [Fact]
    public void EqualLabelSetsShareOneIdentityUntilTheLastRelease()
    {
        var a = new LocalIdentityAllocator();
        var x = a.Allocate(L("app=a,io.kubernetes.pod.namespace=default"));
        var y = a.Allocate(L("io.kubernetes.pod.namespace=default,app=a"));
        Assert.Equal(x, y);
        Assert.InRange(x.Value, 256u, 65535u);
        Assert.False(a.Release(x));
        Assert.True(a.TryGetIdentity(L("app=a,io.kubernetes.pod.namespace=default"), out _));
        Assert.True(a.Release(x));
        Assert.False(a.TryGetIdentity(L("app=a,io.kubernetes.pod.namespace=default"), out _));
        Assert.False(a.TryGetLabels(x, out _));
    }

    [Fact]
    public void CidrLabelSetsGetLocalScopeIdentities()
    {
        var a = new LocalIdentityAllocator();
        var id = a.Allocate(CidrIdentity.LabelsFor(IpPrefix.Parse("10.0.0.0/8")));
        Assert.True(id.IsLocal);
        Assert.InRange(id.Value, (1u << 24) + 1, (2u << 24) - 1);
        Assert.Equal("cidr:10.0.0.0/8,reserved:world", a.Snapshot().Single().Labels.ToString());
        Assert.Equal(NumericIdentity.World, a.Allocate(CidrIdentity.LabelsFor(IpPrefix.Parse("0.0.0.0/0"))));
    }

    [Fact]
    public void NumbersAreDeterministicAndDistinct()
    {
        var sets = Enumerable.Range(0, 3000).Select(i => L($"app=a{i},io.kubernetes.pod.namespace=ns{i % 7}")).ToList();
        var first = new LocalIdentityAllocator();
        var second = new LocalIdentityAllocator();
        var x = sets.Select(first.Allocate).ToList();
        var y = sets.Select(second.Allocate).ToList();
        Assert.Equal(x, y);
        Assert.Equal(sets.Count, x.Distinct().Count());
        Assert.All(x, id => Assert.InRange(id.Value, 256u, 65535u));
        // The number of a label set does not depend on the other sets when nothing collides with it.
        var alone = new LocalIdentityAllocator().Allocate(sets[1234]);
        Assert.Equal(x[1234], alone);
    }

    [Fact]
    public void RestoredSnapshotKeepsNumbersWhateverTheAllocationOrder()
    {
        var sets = Enumerable.Range(0, 2000).Select(i => L($"app=b{i}")).ToList();
        var before = new LocalIdentityAllocator();
        var numbers = sets.ToDictionary(s => s, before.Allocate);
        var restored = new LocalIdentityAllocator(before.Snapshot().Select(s => KeyValuePair.Create(s.Identity, s.Labels)));
        foreach (var s in Enumerable.Reverse(sets))
        {
            Assert.Equal(numbers[s], restored.Allocate(s));
        }

        // A new set never takes a number reserved for a restored one that is not allocated yet.
        var partial = new LocalIdentityAllocator(before.Snapshot().Select(s => KeyValuePair.Create(s.Identity, s.Labels)));
        var fresh = Enumerable.Range(0, 500).Select(i => partial.Allocate(L($"app=new{i}"))).ToHashSet();
        Assert.Empty(fresh.Intersect(numbers.Values));
    }
}
