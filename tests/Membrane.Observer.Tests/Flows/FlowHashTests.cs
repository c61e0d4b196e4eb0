using System.Net;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Tests.Flows;

public sealed class FlowHashTests
{
    private static readonly IPAddress Client = IPAddress.Parse("10.244.1.11");
    private static readonly IPAddress Server = IPAddress.Parse("10.244.1.12");

    [Fact]
    public void Both_directions_of_a_connection_hash_alike_and_never_to_zero()
    {
        var forward = FlowHash.Of(Client, 49876, Server, 80, 6);
        Assert.Equal(forward, FlowHash.Of(Server, 80, Client, 49876, 6));
        Assert.NotEqual(0u, forward);
    }

    [Theory]
    [InlineData("10.244.1.11", 49877, "10.244.1.12", 80, 6)]
    [InlineData("10.244.1.11", 49876, "10.244.1.12", 81, 6)]
    [InlineData("10.244.1.13", 49876, "10.244.1.12", 80, 6)]
    [InlineData("10.244.1.11", 49876, "10.244.1.12", 80, 17)]
    [InlineData("10.244.1.11", 80, "10.244.1.12", 49876, 6)]
    public void Another_tuple_hashes_differently(string a, int aPort, string b, int bPort, int protocol)
    {
        Assert.NotEqual(FlowHash.Of(Client, 49876, Server, 80, 6), FlowHash.Of(IPAddress.Parse(a), (ushort)aPort, IPAddress.Parse(b), (ushort)bPort, (byte)protocol));
    }

    [Fact]
    public void IPv6_ends_hash_and_a_missing_end_gives_zero()
    {
        Assert.NotEqual(0u, FlowHash.Of(IPAddress.Parse("fd00::1"), 1, IPAddress.Parse("fd00::2"), 2, 6));
        Assert.Equal(0u, FlowHash.Of(null, 1, Server, 2, 6));
    }

    [Fact]
    public void Hashing_allocates_nothing()
    {
        FlowHash.Of(Client, 49876, Server, 80, 6);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            FlowHash.Of(Client, (ushort)i, Server, 80, 6);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
