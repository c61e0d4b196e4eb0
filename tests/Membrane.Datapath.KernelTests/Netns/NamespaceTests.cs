using System.Net;
using System.Net.Sockets;
using Membrane.Datapath.Interop;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Datapath.Netns;

namespace Membrane.Datapath.KernelTests.Netns;

/// <summary>The netns primitives the lab and the tests share.</summary>
public sealed class NamespaceTests
{
    [Fact]
    public async Task A_node_with_pods_routes_between_them_and_is_removed_completely()
    {
        var prefix = NamePrefix.Random("mn");
        string[] namespaces;
        string hostInterface;
        using (var node = NodeNamespace.Create(prefix, IPAddress.Parse("10.99.0.1")))
        {
            var a = node.AddPod("alpha", IPAddress.Parse("10.99.0.11"));
            var b = node.AddPod("beta", IPAddress.Parse("10.99.0.12"));
            node.WriteHostsFiles();
            namespaces = [node.Name, a.Name, b.Name];
            hostInterface = a.HostInterface;

            Assert.All(namespaces, n => Assert.StartsWith(prefix, n));
            Assert.True(a.HostInterface.Length <= 15 && a.HostInterface.StartsWith(prefix, StringComparison.Ordinal));
            Assert.Contains("10.99.0.12 beta", await File.ReadAllTextAsync($"/etc/netns/{a.Name}/hosts"));

            using var nodeThread = new NetnsThread(node.Path);
            Assert.Equal("1", nodeThread.Run(() => File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim()));
            Assert.True(nodeThread.Run(() => Libc.InterfaceIndex(a.HostInterface)) > 0);
            Assert.True(nodeThread.Run(() => Directory.Exists("/sys/fs/bpf")), "bpffs stays visible on a setns thread");

            // Without any datapath, plain routing through the node joins the pods, and names resolve in a pod.
            using var alpha = new NetnsThread(a.Path);
            using var beta = new NetnsThread(b.Path);
            Assert.Throws<DatapathException>(() => Libc.InterfaceIndex(a.HostInterface));
            Assert.True(alpha.Run(() => Libc.InterfaceIndex("eth0")) > 0);
            using var listener = beta.Run(() =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(b.Address, 0));
                s.Listen(1);
                return s;
            });
            using var client = alpha.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(TimeSpan.FromSeconds(5));
            using var accepted = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(a.Address, ((IPEndPoint)accepted.RemoteEndPoint!).Address);
            var (code, stdout, _) = await Commands.Run("ip", ["netns", "exec", a.Name, "getent", "hosts", "beta"], TimeSpan.FromSeconds(10));
            Assert.True(code == 0 && stdout.StartsWith("10.99.0.12", StringComparison.Ordinal), stdout);
        }

        var remaining = (await Commands.Run("ip", ["netns", "list"], TimeSpan.FromSeconds(10))).Stdout;
        Assert.All(namespaces, n => Assert.DoesNotContain(n, remaining));
        Assert.All(namespaces, n => Assert.False(Directory.Exists($"/etc/netns/{n}")));
        Assert.DoesNotContain(hostInterface, (await Commands.Run("ip", ["-o", "link"], TimeSpan.FromSeconds(10))).Stdout);
    }

    [Fact]
    public void Failures_surface_as_clear_errors()
    {
        var prefix = NamePrefix.Random("mn");
        using var node = NodeNamespace.Create(prefix, IPAddress.Parse("10.99.0.1"));

        var duplicate = Assert.Throws<DatapathException>(() => NodeNamespace.Create(prefix, IPAddress.Parse("10.99.0.1")));
        Assert.Contains($"ip netns add {prefix}-node", duplicate.Message);

        Assert.Throws<ArgumentException>(() => NamePrefix.InterfaceName("a-very-long-interface-name"));
        Assert.Throws<ArgumentException>(() => NodeNamespace.Create("much-too-long-prefix", IPAddress.Loopback));

        var missing = Assert.Throws<DatapathException>(() => new NetnsThread($"/var/run/netns/{prefix}-does-not-exist"));
        Assert.Contains("does-not-exist", missing.Message);
    }
}
