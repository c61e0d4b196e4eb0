using System.Net;
using Membrane.Datapath;
using Membrane.Datapath.Netns;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.DatapathHarness;

/// <summary>
/// The traffic benchmark's topology: node namespace PREFIX-node with pods PREFIX-cli (10.250.1.11) and PREFIX-srv
/// (10.250.1.12). Variant "membrane" attaches the datapath with policy enforced in both directions of both pods:
/// the client may open TCP 5201 (iperf3), 11111 (sockperf), 11112 (crr) and UDP 5201 to the server, nothing else,
/// plus --entries extra identities (ipcache) and as many policy entries per endpoint. Setup leaves everything in place
/// (the programs and maps live in the kernel); teardown removes it.
/// </summary>
internal static class Topology
{
    private static readonly IPAddress Router = IPAddress.Parse("10.250.1.1");
    private static readonly ushort[] TcpPorts = [5201, 11111, 11112];

    public static int Setup(Arguments args)
    {
        var prefix = args.Require("prefix");
        var variant = args.Require("variant");
        var entries = args.Int("entries", 0, 100_000);
        var node = NodeNamespace.Create(prefix, Router);
        var client = node.AddPod("cli", IPAddress.Parse("10.250.1.11"));
        var server = node.AddPod("srv", IPAddress.Parse("10.250.1.12"));
        if (variant == "none")
        {
            return 0;
        }

        if (variant != "membrane")
        {
            throw new ArgumentException($"unknown variant {variant}");
        }

        using var datapath = EbpfDatapath.Open(Options(prefix));
        datapath.UpsertIpcache(new IPNetwork(Router, 32), NumericIdentity.Host);
        var filler = Enumerable.Range(0, entries).Select(i => (Address: IPAddress.Parse($"10.251.{i / 250}.{(i % 250) + 1}"), Identity: new NumericIdentity((uint)(20000 + i)))).ToList();
        foreach (var (address, identity) in filler)
        {
            datapath.UpsertIpcache(new IPNetwork(address, 32), identity);
        }

        var clientIdentity = new NumericIdentity(1001);
        var serverIdentity = new NumericIdentity(1002);
        List<KeyValuePair<PolicyKey, PolicyEntry>> clientPolicy =
        [
            .. TcpPorts.Select(p => Allow(new PolicyKey(TrafficDirection.Egress, serverIdentity.Value, 6, p, 16))),
            Allow(new PolicyKey(TrafficDirection.Egress, serverIdentity.Value, 17, 5201, 16)),
            .. filler.Select(f => Allow(new PolicyKey(TrafficDirection.Egress, f.Identity.Value, 6, 80, 16))),
        ];
        List<KeyValuePair<PolicyKey, PolicyEntry>> serverPolicy =
        [
            .. TcpPorts.Select(p => Allow(new PolicyKey(TrafficDirection.Ingress, clientIdentity.Value, 6, p, 16))),
            Allow(new PolicyKey(TrafficDirection.Ingress, clientIdentity.Value, 17, 5201, 16)),
            .. filler.Select(f => Allow(new PolicyKey(TrafficDirection.Ingress, f.Identity.Value, 6, 80, 16))),
        ];
        datapath.AddEndpoint(1, client.HostInterface, clientIdentity, client.Address, clientPolicy);
        datapath.AddEndpoint(2, server.HostInterface, serverIdentity, server.Address, serverPolicy);
        Console.WriteLine($"{variant}: {datapath.Endpoints.Count} endpoints ({datapath.Endpoints[0].AttachMode}), " +
            $"{datapath.ReadPolicy(2).Count} policy entries on the server, {datapath.ListIpcache().Count} ipcache entries");
        return 0;
    }

    public static int Teardown(Arguments args)
    {
        var prefix = args.Require("prefix");
        var nodePath = NetworkNamespace.NamespacePath($"{prefix}-node");
        if (File.Exists(nodePath) && Directory.Exists(EbpfDatapath.InstancePinRoot(prefix)))
        {
            EbpfDatapath.Open(Options(prefix) with { ConfigureProxyRouting = false }).Destroy();
        }

        foreach (var name in (string[])[$"{prefix}-cli", $"{prefix}-srv", $"{prefix}-node"])
        {
            System.Diagnostics.Process.Start("ip", ["netns", "del", name])!.WaitForExit();
            if (Directory.Exists($"/etc/netns/{name}"))
            {
                Directory.Delete($"/etc/netns/{name}", recursive: true);
            }
        }

        return 0;
    }

    private static DatapathOptions Options(string prefix) => new()
    {
        Instance = prefix,
        NodeNamespacePath = NetworkNamespace.NamespacePath($"{prefix}-node"),
        ConsumeEvents = false,
    };

    private static KeyValuePair<PolicyKey, PolicyEntry> Allow(PolicyKey key) =>
        KeyValuePair.Create(key, new PolicyEntry(PolicyVerdict.Allow, L7Protocol.None, []));
}
