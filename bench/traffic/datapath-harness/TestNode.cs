using System.Net;
using Membrane.Datapath;
using Membrane.Datapath.Interop;
using Membrane.Datapath.Netns;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.DatapathHarness;

/// <summary>
/// A throwaway node namespace with two veth pods (no traffic is sent) and datapath instances in it whose client and
/// server endpoints are registered on the pods' host-side veths. Programs run with BPF_PROG_TEST_RUN on the node's
/// thread with the skb's interface set to one of those veths, so they see what they see on a real packet.
/// </summary>
internal sealed class TestNode : IDisposable
{
    public static readonly IPAddress Router = IPAddress.Parse("10.244.1.1");
    public static readonly IPAddress ClientAddress = IPAddress.Parse("10.244.1.11");
    public static readonly IPAddress ServerAddress = IPAddress.Parse("10.244.1.12");
    public static readonly NumericIdentity ClientIdentity = new(1001);
    public static readonly NumericIdentity ServerIdentity = new(1002);
    public const ushort ClientId = 1;
    public const ushort ServerId = 2;

    /// <summary>Conntrack entries of every instance (and of the benchmark objects loaded on its maps).</summary>
    public const int ConntrackCapacity = 65536;

    private readonly List<EbpfDatapath> _instances = [];

    public TestNode()
    {
        Prefix = NamePrefix.Random("mh");
        Node = NodeNamespace.Create(Prefix, Router);
        Node.AddPod("cli", ClientAddress);
        Node.AddPod("srv", ServerAddress);
        Thread = new NetnsThread(Node.Path);
        ClientIfindex = Thread.Run(() => Libc.InterfaceIndex(Node.Pods[0].HostInterface));
        ServerIfindex = Thread.Run(() => Libc.InterfaceIndex(Node.Pods[1].HostInterface));
    }

    public string Prefix { get; }

    public NodeNamespace Node { get; }

    public NetnsThread Thread { get; }

    public int ClientIfindex { get; }

    public int ServerIfindex { get; }

    /// <summary>An instance where the client may reach the server on TCP <paramref name="port"/>, plus
    /// <paramref name="extraEntries"/> identities in the ipcache and as many entries in each policy map.</summary>
    public EbpfDatapath OpenInstance(string suffix, ushort port, int extraEntries, ConntrackTimeouts? timeouts = null, string? objects = null)
    {
        var datapath = EbpfDatapath.Open(new DatapathOptions
        {
            Instance = $"{Prefix}{suffix}",
            NodeNamespacePath = Node.Path,
            ConntrackCapacity = ConntrackCapacity,
            ConntrackTimeouts = timeouts ?? new ConntrackTimeouts(),
            ObjectDirectory = objects,
        });
        _instances.Add(datapath);
        datapath.UpsertIpcache(new IPNetwork(Router, 32), NumericIdentity.Host);
        var filler = Filler(extraEntries);
        foreach (var (address, identity) in filler)
        {
            datapath.UpsertIpcache(new IPNetwork(address, 32), identity);
        }

        List<KeyValuePair<PolicyKey, PolicyEntry>> client =
        [
            Entry(new PolicyKey(TrafficDirection.Egress, ServerIdentity.Value, 6, port, 16)),
            .. filler.Select(f => Entry(new PolicyKey(TrafficDirection.Egress, f.Identity.Value, 6, 80, 16))),
        ];
        List<KeyValuePair<PolicyKey, PolicyEntry>> server =
        [
            Entry(new PolicyKey(TrafficDirection.Ingress, ClientIdentity.Value, 6, port, 16)),
            .. filler.Select(f => Entry(new PolicyKey(TrafficDirection.Ingress, f.Identity.Value, 6, 80, 16))),
        ];
        datapath.AddDetachedEndpoint(ClientId, ClientIfindex, ClientIdentity, ClientAddress, client);
        datapath.AddDetachedEndpoint(ServerId, ServerIfindex, ServerIdentity, ServerAddress, server);
        return datapath;
    }

    public static List<(IPAddress Address, NumericIdentity Identity)> Filler(int count) =>
        Enumerable.Range(0, count).Select(i => (IPAddress.Parse($"10.251.{i / 250}.{(i % 250) + 1}"), new NumericIdentity((uint)(20000 + i)))).ToList();

    public static KeyValuePair<PolicyKey, PolicyEntry> Entry(PolicyKey key) =>
        KeyValuePair.Create(key, new PolicyEntry(PolicyVerdict.Allow, L7Protocol.None, []));

    public void Dispose()
    {
        foreach (var instance in _instances)
        {
            instance.Destroy();
        }

        Thread.Dispose();
        Node.Dispose();
    }
}
