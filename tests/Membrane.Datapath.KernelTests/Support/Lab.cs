using System.Net;
using Membrane.Datapath.Netns;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>
/// A node namespace with pods and an open datapath instance, all under one random prefix. Dispose removes the
/// datapath instance (programs, pins), the pods and the node, also after a failed test.
/// </summary>
internal sealed class Lab : IDisposable
{
    private readonly List<Pod> _pods = [];
    private bool _disposed;

    private Lab(NodeNamespace node, string prefix)
    {
        Node = node;
        Prefix = prefix;
        NodeThread = new NetnsThread(node.Path);
    }

    public NodeNamespace Node { get; }

    public string Prefix { get; }

    public NetnsThread NodeThread { get; }

    public EbpfDatapath Datapath { get; private set; } = null!;

    public DatapathOptions Options { get; private set; } = null!;

    public IReadOnlyList<Pod> Pods => _pods;

    public static IPAddress Router { get; } = IPAddress.Parse("10.244.1.1");

    /// <summary>Creates the node, the pods (identity, endpoint id = index + 1, address 10.244.1.(11 + index)) and opens the datapath.</summary>
    public static Lab Create(IReadOnlyList<(string Name, uint Identity)> pods, Func<DatapathOptions, DatapathOptions>? configure = null,
        bool attach = true, Action<Lab>? beforeOpen = null)
    {
        var prefix = NamePrefix.Random("mt");
        var node = NodeNamespace.Create(prefix, Router);
        Lab? lab = null;
        try
        {
            lab = new Lab(node, prefix);
            for (var i = 0; i < pods.Count; i++)
            {
                var address = IPAddress.Parse($"10.244.1.{11 + i}");
                var ns = node.AddPod(pods[i].Name, address);
                lab._pods.Add(new Pod(ns, (ushort)(i + 1), new NumericIdentity(pods[i].Identity)));
            }

            node.WriteHostsFiles();
            beforeOpen?.Invoke(lab);
            var options = new DatapathOptions
            {
                Instance = prefix,
                NodeNamespacePath = node.Path,
                ConntrackCapacity = 16384,
                EventBufferBytes = 1 << 18,
            };
            lab.Options = configure?.Invoke(options) ?? options;
            lab.Datapath = EbpfDatapath.Open(lab.Options);
            lab.Datapath.UpsertIpcache(new IPNetwork(Router, 32), NumericIdentity.Host);
            if (attach)
            {
                foreach (var pod in lab._pods)
                {
                    lab.Datapath.AddEndpoint(pod.EndpointId, pod.Namespace.HostInterface, pod.Identity, pod.Address, initialPolicy: []);
                }
            }

            return lab;
        }
        catch
        {
            if (lab is not null)
            {
                lab.Dispose();
            }
            else
            {
                node.Dispose();
            }

            throw;
        }
    }

    public Pod this[string name] => _pods.Single(p => p.Name == name);

    /// <summary>Reopens the datapath (an agent restart): the old object is disposed, the kernel state stays.</summary>
    public void Restart(Action? whileStopped = null)
    {
        Datapath.Dispose();
        whileStopped?.Invoke();
        Datapath = EbpfDatapath.Open(Options);
    }

    /// <summary>Replaces an endpoint's whole policy.</summary>
    public void SetPolicy(Pod pod, params (PolicyKey Key, PolicyEntry Entry)[] entries) =>
        Datapath.ReplacePolicy(pod.EndpointId, entries.Select(e => KeyValuePair.Create(e.Key, e.Entry)));

    /// <summary>Things to dispose before the namespaces go (servers, proxies).</summary>
    public List<IDisposable> Resources { get; } = [];

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        List<Exception> errors = [];
        foreach (var resource in Resources)
        {
            resource.Dispose();
        }

        try
        {
            Datapath?.Destroy();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed by the test; the pins are removed below.
        }
        catch (Exception e)
        {
            errors.Add(e);
        }

        foreach (var pod in _pods)
        {
            pod.Dispose();
        }

        NodeThread.Dispose();
        Node.Dispose();
        var root = EbpfDatapath.InstancePinRoot(Prefix);
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        if (errors.Count > 0)
        {
            throw new AggregateException(errors);
        }
    }
}

/// <summary>A pod of a <see cref="Lab"/> with a thread inside its namespace (to create sockets there).</summary>
internal sealed class Pod : IDisposable
{
    public Pod(PodNamespace ns, ushort endpointId, NumericIdentity identity)
    {
        Namespace = ns;
        EndpointId = endpointId;
        Identity = identity;
        Thread = new NetnsThread(ns.Path);
    }

    public PodNamespace Namespace { get; }

    public string Name => Namespace.ShortName;

    public IPAddress Address => Namespace.Address;

    public ushort EndpointId { get; }

    public NumericIdentity Identity { get; }

    public NetnsThread Thread { get; }

    public void Dispose() => Thread.Dispose();

    public override string ToString() => $"{Name}({Address}, id {Identity})";
}
