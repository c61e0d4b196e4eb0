using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Programs;

/// <summary>
/// The agent stops and starts again while traffic flows: enforcement continues while it is away (the programs and
/// pinned maps live in the kernel), and the restarted loader reuses the pinned maps and replaces the programs in
/// place, so a connection running across the restart sees zero failures.
/// </summary>
public sealed class RestartTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_runs_across_a_loader_restart_without_a_failure(bool forceTcClsact)
    {
        using var lab = Lab.Create([("client", 1001), ("server", 1002)], o => o with { ForceTcClsact = forceTcClsact });
        var (client, server) = (lab["client"], lab["server"]);
        Assert.Equal(forceTcClsact ? AttachMode.TcClsact : AttachMode.Tcx, lab.Datapath.Endpoints[0].AttachMode);
        using var echo = new TcpEchoServer(server);
        using var closed = new TcpEchoServer(server);
        lab.SetPolicy(client, AllowAll(TrafficDirection.Egress), AllowAll(TrafficDirection.Ingress));
        lab.SetPolicy(server, (In(client.Identity, Tcp, (ushort)echo.Port), Allow()), AllowAll(TrafficDirection.Egress));
        var policyBefore = lab.Datapath.ReadPolicy(server.EndpointId);
        var programsBefore = lab.Datapath.AttachedProgramIds(server.EndpointId);

        using var connection = await Sockets.TryConnectTcp(client, server.Address, echo.Port, Sockets.AllowedTimeout);
        Assert.NotNull(connection);
        using var stop = new CancellationTokenSource();
        int roundTrips = 0, failures = 0;
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (await connection.RoundTrip(TimeSpan.FromSeconds(2)))
                {
                    roundTrips++;
                }
                else
                {
                    failures++;
                }

                await Task.Delay(5);
            }
        });

        await Task.Delay(300);
        var duringDowntime = new List<bool>();
        lab.Restart(whileStopped: () =>
        {
            // Agent stopped: the kernel keeps enforcing (deny stays deny, allow stays allow).
            duringDowntime.Add(Sockets.TcpWorks(client, server.Address, closed.Port, Sockets.DeniedTimeout).GetAwaiter().GetResult());
            duringDowntime.Add(Sockets.TcpWorks(client, server.Address, echo.Port, Sockets.AllowedTimeout).GetAwaiter().GetResult());
        });
        await Task.Delay(300);

        // The restarted loader knows the endpoints and their policy from the kernel, and runs new programs.
        Assert.Equal([false, true], duringDowntime);
        Assert.Equal(2, lab.Datapath.Endpoints.Count);
        Assert.Equal(server.Identity, lab.Datapath.Endpoints.Single(e => e.Id == server.EndpointId).Identity);
        Assert.Equal(policyBefore.Select(r => (r.Key, r.Verdict)), lab.Datapath.ReadPolicy(server.EndpointId).Select(r => (r.Key, r.Verdict)));
        var programsAfter = lab.Datapath.AttachedProgramIds(server.EndpointId);
        Assert.Equal(programsBefore.Count, programsAfter.Count);
        Assert.All(programsAfter.Zip(programsBefore), pair => Assert.NotEqual(pair.First, pair.Second));

        // Policy updates work on the re-opened maps.
        lab.Datapath.ApplyPolicy(new MapStateDelta(server.EndpointId, [KeyValuePair.Create(In(client.Identity, Tcp, (ushort)closed.Port), Allow())], []));
        Assert.True(await Sockets.TcpWorks(client, server.Address, closed.Port, Sockets.AllowedTimeout));

        stop.Cancel();
        await traffic;
        Assert.True(roundTrips > 20, $"only {roundTrips} round trips");
        Assert.Equal(0, failures);
    }
}
