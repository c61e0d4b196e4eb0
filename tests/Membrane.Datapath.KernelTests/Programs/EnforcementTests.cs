using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Programs;

/// <summary>Basic enforcement through the real programs on real veths: default deny, allow, deny per direction.</summary>
public sealed class EnforcementTests
{
    [Fact]
    public async Task Default_deny_then_allow_both_directions_opens_the_connection()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var client = lab["client"];
        var server = lab["server"];
        using var echo = new TcpEchoServer(server);

        Assert.False(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.DeniedTimeout));

        lab.SetPolicy(client, (Out(server.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Ingress));
        Assert.False(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.DeniedTimeout));

        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
    }
}
