using System.Net;

namespace Membrane.Datapath.Netns;

/// <summary>
/// A pod: a network namespace joined to the node namespace by a veth pair (<c>eth0</c> inside, the host-side veth
/// in the node namespace), with a /32 address, a link route to the router and a default route through it.
/// Created by <see cref="NodeNamespace.AddPod"/>; disposing it deletes the namespace (and the veth pair) and its
/// <c>/etc/netns/&lt;name&gt;</c> directory.
/// </summary>
public sealed class PodNamespace : NetworkNamespace
{
    internal PodNamespace(NodeNamespace node, string name, string shortName, IPAddress address, string hostInterface)
        : base(name)
    {
        ShortName = shortName;
        Address = address;
        HostInterface = hostInterface;
        try
        {
            IpCommand.Ip("link", "add", hostInterface, "netns", node.Name, "type", "veth", "peer", "name", "eth0", "netns", name);
            IpCommand.IpIn(name, "link", "set", "eth0", "up");
            IpCommand.IpIn(name, "addr", "add", $"{address}/32", "dev", "eth0");
            IpCommand.IpIn(name, "route", "add", $"{node.RouterAddress}/32", "dev", "eth0", "scope", "link");
            IpCommand.IpIn(name, "route", "add", "default", "via", node.RouterAddress.ToString(), "dev", "eth0", "src", address.ToString());
            IpCommand.IpIn(node.Name, "link", "set", hostInterface, "up");
            IpCommand.IpIn(node.Name, "route", "add", $"{address}/32", "dev", hostInterface, "scope", "link", "src", node.RouterAddress.ToString());
        }
        catch
        {
            base.Dispose(true);
            throw;
        }
    }

    /// <summary>The pod's name without the prefix (its host name in the hosts files).</summary>
    public string ShortName { get; }

    /// <summary>The pod's IPv4 address.</summary>
    public IPAddress Address { get; }

    /// <summary>The host-side veth in the node namespace (where the datapath attaches).</summary>
    public string HostInterface { get; }

    internal void WriteHostsFile(string contents)
    {
        var directory = $"/etc/netns/{Name}";
        Directory.CreateDirectory(directory);
        File.WriteAllText(System.IO.Path.Combine(directory, "hosts"), contents);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        try
        {
            var directory = $"/etc/netns/{Name}";
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        finally
        {
            base.Dispose(disposing);
        }
    }
}
