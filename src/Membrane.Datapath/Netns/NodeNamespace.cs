using System.Net;

namespace Membrane.Datapath.Netns;

/// <summary>
/// The node network namespace of the lab topology (datapath-facts.md §1): no uplink, the router address on its
/// <c>lo</c> (pods use it as their gateway and the kernel answers their ARP for it), <c>ip_forward</c> enabled only
/// here, and one /32 route per pod through the pod's host-side veth. Disposing it removes every pod first.
/// </summary>
public sealed class NodeNamespace : NetworkNamespace
{
    private readonly List<PodNamespace> _pods = [];

    private NodeNamespace(string prefix, IPAddress routerAddress)
        : base($"{prefix}-node")
    {
        Prefix = prefix;
        RouterAddress = routerAddress;
        try
        {
            IpCommand.IpIn(Name, "addr", "add", $"{routerAddress}/32", "dev", "lo");
            IpCommand.Sysctl(Name, "net.ipv4.ip_forward=1");
        }
        catch
        {
            base.Dispose(true);
            throw;
        }
    }

    /// <summary>The prefix every name of this topology starts with.</summary>
    public string Prefix { get; }

    /// <summary>The pods' gateway, on the node's loopback.</summary>
    public IPAddress RouterAddress { get; }

    /// <summary>The pods created so far.</summary>
    public IReadOnlyList<PodNamespace> Pods => _pods;

    /// <summary>Creates the node namespace <c>PREFIX-node</c>.</summary>
    /// <param name="prefix">Unique prefix (<see cref="NamePrefix.Random"/>; the lab uses <c>mb</c>).</param>
    /// <param name="routerAddress">Router address, e.g. 10.244.1.1.</param>
    public static NodeNamespace Create(string prefix, IPAddress routerAddress)
    {
        if (prefix.Length is 0 or > NamePrefix.MaxLength)
        {
            throw new ArgumentException($"prefix \"{prefix}\": 1-{NamePrefix.MaxLength} characters");
        }

        return new NodeNamespace(prefix, routerAddress);
    }

    /// <summary>
    /// Creates pod namespace <c>PREFIX-NAME</c> with <c>eth0</c> = <paramref name="address"/>/32, a default route
    /// through the router, and its host-side veth <c>PREFIX-h&lt;n&gt;</c> in this namespace.
    /// </summary>
    public PodNamespace AddPod(string name, IPAddress address)
    {
        var hostInterface = NamePrefix.InterfaceName($"{Prefix}h{_pods.Count + 1}");
        var pod = new PodNamespace(this, $"{Prefix}-{name}", name, address, hostInterface);
        _pods.Add(pod);
        return pod;
    }

    /// <summary>Removes a pod created by <see cref="AddPod"/>.</summary>
    public void RemovePod(PodNamespace pod)
    {
        _pods.Remove(pod);
        pod.Dispose();
    }

    /// <summary>Writes <c>/etc/netns/&lt;pod&gt;/hosts</c> of every pod so that pods resolve each other by name
    /// (read by programs started with <c>ip netns exec</c>).</summary>
    public void WriteHostsFiles()
    {
        var lines = string.Join('\n', ["127.0.0.1 localhost", .. _pods.Select(p => $"{p.Address} {p.ShortName}")]) + "\n";
        foreach (var pod in _pods)
        {
            pod.WriteHostsFile(lines);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        foreach (var pod in _pods.ToArray())
        {
            pod.Dispose();
        }

        _pods.Clear();
        base.Dispose(disposing);
    }
}
