using System.Net;
using Membrane.Policy.Identity;

namespace Membrane.Policy.Tests.Identity;

public sealed class InMemoryIpCacheTests
{
    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Fact]
    public void LongestPrefixWinsAndUnknownAddressesAreWorld()
    {
        var c = new InMemoryIpCache();
        c.Upsert(IpPrefix.Parse("10.0.0.0/8"), new NumericIdentity(16777217), IpCacheSource.PolicyCidr);
        c.Upsert(IpPrefix.Parse("10.1.0.0/16"), new NumericIdentity(16777218), IpCacheSource.PolicyCidr);
        c.Upsert(IpPrefix.Parse("10.1.2.3/32"), new NumericIdentity(300), IpCacheSource.Endpoint);
        Assert.Equal(300u, c.Lookup(Ip("10.1.2.3")).Value);
        Assert.Equal(16777218u, c.Lookup(Ip("10.1.2.4")).Value);
        Assert.Equal(16777217u, c.Lookup(Ip("10.200.0.1")).Value);
        Assert.Equal(NumericIdentity.World, c.Lookup(Ip("192.0.2.1")));
        Assert.False(c.TryLookup(Ip("192.0.2.1"), out _));
        Assert.True(c.TryLookup(Ip("::ffff:10.1.2.3"), out var mapped));
        Assert.Equal(300u, mapped.Identity.Value);
    }

    [Fact]
    public void EndpointClaimsWinOverPolicyCidrsAndDeletingOneRevealsTheOther()
    {
        var c = new InMemoryIpCache();
        var changes = new List<IpCacheChange>();
        c.Changed += changes.Add;
        var prefix = IpPrefix.Parse("10.0.0.5/32");
        c.Upsert(prefix, new NumericIdentity(16777219), IpCacheSource.PolicyCidr);
        c.Upsert(prefix, new NumericIdentity(400), IpCacheSource.Endpoint);
        Assert.Equal(400u, c.Lookup(Ip("10.0.0.5")).Value);
        Assert.True(c.Delete(prefix, IpCacheSource.Endpoint));
        Assert.Equal(16777219u, c.Lookup(Ip("10.0.0.5")).Value);
        Assert.False(c.Delete(prefix, IpCacheSource.Remote));
        Assert.True(c.Delete(prefix, IpCacheSource.PolicyCidr));
        Assert.Empty(c.Entries());
        Assert.Equal(
            [
                new IpCacheChange(prefix, null, new NumericIdentity(16777219)),
                new IpCacheChange(prefix, new NumericIdentity(16777219), new NumericIdentity(400)),
                new IpCacheChange(prefix, new NumericIdentity(400), new NumericIdentity(16777219)),
                new IpCacheChange(prefix, new NumericIdentity(16777219), null),
            ],
            changes);
    }

    [Fact]
    public void Ipv6PrefixesAreSeparate()
    {
        var c = new InMemoryIpCache();
        c.Upsert(IpPrefix.Parse("2001:db8::/32"), new NumericIdentity(16777300), IpCacheSource.PolicyCidr);
        c.Upsert(IpPrefix.Parse("0.0.0.0/0"), new NumericIdentity(9), IpCacheSource.Remote);
        Assert.Equal(16777300u, c.Lookup(Ip("2001:db8::1")).Value);
        Assert.Equal(NumericIdentity.World, c.Lookup(Ip("2001:db9::1")));
        Assert.Equal(9u, c.Lookup(Ip("8.8.8.8")).Value);
    }

    [Fact]
    public async Task LookupsRunWhileWritersChangeTheCache()
    {
        var c = new InMemoryIpCache();
        c.Upsert(IpPrefix.Parse("10.0.0.0/8"), new NumericIdentity(16777217), IpCacheSource.PolicyCidr);
        using var started = new SemaphoreSlim(0);
        var done = 0;
        var reader = Task.Run(() =>
        {
            started.Release();
            var n = 0;
            do
            {
                var id = c.Lookup(Ip("10.9.9.9")).Value;
                Assert.True(id is 16777217u or >= 1000u and < 1100u, $"saw {id}");
                n++;
            }
            while (Volatile.Read(ref done) == 0);
            return n;
        });
        await started.WaitAsync(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 20_000; i++)
        {
            var p = IpPrefix.Parse($"10.9.9.{i % 256}/32");
            c.Upsert(p, new NumericIdentity(1000 + (uint)(i % 100)), IpCacheSource.Endpoint);
            c.Delete(p, IpCacheSource.Endpoint);
        }

        Volatile.Write(ref done, 1);
        Assert.True(await reader > 0);
    }
}
