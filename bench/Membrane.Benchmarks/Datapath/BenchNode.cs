using System.Net;
using Membrane.Datapath;
using Membrane.Datapath.Interop;
using Membrane.Datapath.Netns;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Benchmarks.Datapath;

/// <summary>
/// A throwaway node namespace with two veth pods (no traffic is sent) and datapath instances in it. Programs are
/// run with BPF_PROG_TEST_RUN on the node's thread, with the skb's interface set to a pod's host-side veth, so
/// the programs see exactly what they see on a real packet. Everything is removed on dispose.
/// </summary>
internal sealed class BenchNode : IDisposable
{
    public static readonly IPAddress Router = IPAddress.Parse("10.244.1.1");
    public static readonly IPAddress ClientAddress = IPAddress.Parse("10.244.1.11");
    public static readonly IPAddress ServerAddress = IPAddress.Parse("10.244.1.12");
    public static readonly NumericIdentity ClientIdentity = new(1001);
    public static readonly NumericIdentity ServerIdentity = new(1002);
    public const ushort ClientId = 1;
    public const ushort ServerId = 2;

    private readonly List<EbpfDatapath> _instances = [];

    public BenchNode()
    {
        Prefix = NamePrefix.Random("mb");
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

    /// <summary>
    /// Opens an instance with the client and server endpoints registered (not attached). The client may send to the
    /// server on <paramref name="port"/>; <paramref name="extraEntries"/> entries for other identities (and as many
    /// ipcache entries) are loaded on top, to show the cost does not depend on map sizes.
    /// </summary>
    public EbpfDatapath OpenInstance(string suffix, ushort port, int extraEntries, ConntrackTimeouts? timeouts = null, bool consumeEvents = true)
    {
        var datapath = EbpfDatapath.Open(new DatapathOptions
        {
            Instance = $"{Prefix}{suffix}",
            NodeNamespacePath = Node.Path,
            ConntrackCapacity = 65536,
            ConntrackTimeouts = timeouts ?? new ConntrackTimeouts(),
            ConsumeEvents = consumeEvents,
        });
        _instances.Add(datapath);
        datapath.UpsertIpcache(new IPNetwork(Router, 32), NumericIdentity.Host);
        var filler = Filler(extraEntries);
        foreach (var (address, identity) in filler)
        {
            datapath.UpsertIpcache(new IPNetwork(address, 32), identity);
        }

        var client = new List<KeyValuePair<PolicyKey, PolicyEntry>>
        {
            Entry(new PolicyKey(TrafficDirection.Egress, ServerIdentity.Value, 6, port, 16), PolicyVerdict.Allow),
            Entry(new PolicyKey(TrafficDirection.Ingress, 0, 0, 0, 0), PolicyVerdict.Allow),
        };
        var server = new List<KeyValuePair<PolicyKey, PolicyEntry>>
        {
            Entry(new PolicyKey(TrafficDirection.Ingress, ClientIdentity.Value, 6, port, 16), PolicyVerdict.Allow),
            Entry(new PolicyKey(TrafficDirection.Egress, 0, 0, 0, 0), PolicyVerdict.Allow),
        };
        server.AddRange(filler.Select(f => Entry(new PolicyKey(TrafficDirection.Ingress, f.Identity.Value, 6, 80, 16), PolicyVerdict.Allow)));
        client.AddRange(filler.Select(f => Entry(new PolicyKey(TrafficDirection.Egress, f.Identity.Value, 6, 80, 16), PolicyVerdict.Allow)));
        datapath.AddDetachedEndpoint(ClientId, ClientIfindex, ClientIdentity, ClientAddress, client);
        datapath.AddDetachedEndpoint(ServerId, ServerIfindex, ServerIdentity, ServerAddress, server);
        return datapath;
    }

    public static List<(IPAddress Address, NumericIdentity Identity)> Filler(int count) =>
        Enumerable.Range(0, count).Select(i => (IPAddress.Parse($"10.251.{i / 250}.{(i % 250) + 1}"), new NumericIdentity((uint)(20000 + i)))).ToList();

    public static KeyValuePair<PolicyKey, PolicyEntry> Entry(PolicyKey key, PolicyVerdict verdict) =>
        KeyValuePair.Create(key, new PolicyEntry(verdict, L7Protocol.None, []));

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
