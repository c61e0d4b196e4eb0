using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Maps;

/// <summary>Bad input gets a clear error naming what is wrong, and nothing is half-applied.</summary>
public sealed class PolicyValidationTests
{
    [Fact]
    public async Task An_invalid_delta_names_the_problem_and_leaves_every_endpoint_unchanged()
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)]);
        var (client, server) = (lab["client"], lab["server"]);
        using var echo = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        var clientBefore = lab.Datapath.ReadPolicy(client.EndpointId);
        var serverBefore = lab.Datapath.ReadPolicy(server.EndpointId);

        // The first delta is valid (it would cut the client off); the second is not: neither may be applied.
        var cutOff = new MapStateDelta(client.EndpointId, [], [new PolicyKey(TrafficDirection.Egress, 0, 0, 0, 0)]);
        (MapStateDelta Delta, string Message)[] invalid =
        [
            (new MapStateDelta(server.EndpointId, [KeyValuePair.Create(new PolicyKey(TrafficDirection.Ingress, 5, Tcp, 80, 17), Allow())], []), "port prefix length 17 is outside 0..16"),
            (new MapStateDelta(server.EndpointId, [KeyValuePair.Create(new PolicyKey(TrafficDirection.Ingress, 5, 0, 80, 16), Allow())], []), "a key for any protocol (0) cannot name a port"),
            (new MapStateDelta(server.EndpointId, [KeyValuePair.Create(In(5, Tcp, 80), new PolicyEntry(PolicyVerdict.Redirect, L7Protocol.None, []))], []), "a redirect entry needs an L7 protocol"),
            (new MapStateDelta(99, [KeyValuePair.Create(In(5, Tcp, 80), Allow())], []), "endpoint 99 does not exist"),
            (new MapStateDelta(server.EndpointId, Enumerable.Range(1, 20000).Select(i => KeyValuePair.Create(In((uint)i, Tcp, 80), Allow())).ToList(), []), "exceed the map's capacity"),
        ];
        foreach (var (delta, message) in invalid)
        {
            var error = Assert.Throws<ArgumentException>(() => lab.Datapath.ApplyPolicies([cutOff, delta]));
            Assert.Contains(message, error.Message);
            Assert.Equal(clientBefore, lab.Datapath.ReadPolicy(client.EndpointId));
            Assert.Equal(serverBefore, lab.Datapath.ReadPolicy(server.EndpointId));
        }

        Assert.True(await Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout));
    }

    [Fact]
    public void Kernel_errors_carry_the_operation_and_a_typed_errno()
    {
        using var lab = Lab.Create([("client", 1001)], attach: false);

        var missing = Assert.Throws<DatapathException>(() => lab.Datapath.AddEndpoint(7, "nosuch0", new(1001), System.Net.IPAddress.Parse("10.244.1.99")));
        Assert.Equal(Errno.ENODEV, missing.Errno);
        Assert.StartsWith("if_nametoindex nosuch0: ENODEV (", missing.Message);

        // Reopening the running instance with another map definition fails clearly and leaves it untouched.
        var other = Assert.Throws<DatapathException>(() => EbpfDatapath.Open(lab.Options with { ConntrackCapacity = 32768, ConsumeEvents = false }));
        Assert.Contains("couldn't reuse pinned map", other.Message);
        Assert.Contains("open the instance with the same sizes", other.Message);
        lab.Datapath.AddEndpoint(1, lab["client"].Namespace.HostInterface, lab["client"].Identity, lab["client"].Address);
        Assert.Single(lab.Datapath.Endpoints);
    }
}
