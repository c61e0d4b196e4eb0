using System.Net;
using System.Net.Sockets;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Listener;

/// <summary>
/// Transparent mode in real namespaces: client and server namespaces routed through a node namespace whose nft
/// tproxy rule (datapath-facts §4e) redirects port 80 to the proxy's IP_TRANSPARENT listener, with replies steered
/// back to the proxy's transparent upstream socket. Proves getsockname = original destination, the source address
/// preserved upstream, SO_MARK = 0x0B00 | identity &lt;&lt; 16, and the loop guard. (The BPF redirect is the datapath's.)
/// </summary>
public sealed class TransparentListenerTests
{
    [Fact]
    public async Task RedirectedConnectionsAreEnforcedAndForwardedAsTheClient()
    {
        await NetnsLab.RequireCapabilitiesAsync();
        await using var lab = new NetnsLab();
        var p = lab.Prefix;
        var x = 200 + Random.Shared.Next(50);
        var y = Random.Shared.Next(100) * 2;
        string node = await lab.AddNamespaceAsync("n"), client = await lab.AddNamespaceAsync("c"), server = await lab.AddNamespaceAsync("s");
        string clientIp = $"10.{x}.{y}.2", serverIp = $"10.{x}.{y + 1}.2";
        await NetnsLab.RunAsync("ip", "link", "add", $"{p}hc", "netns", node, "type", "veth", "peer", "name", $"{p}ec", "netns", client);
        await NetnsLab.RunAsync("ip", "link", "add", $"{p}hs", "netns", node, "type", "veth", "peer", "name", $"{p}es", "netns", server);
        foreach (var (ns, dev, addr, gw) in new[] { (client, $"{p}ec", $"{clientIp}/24", $"10.{x}.{y}.1"), (server, $"{p}es", $"{serverIp}/24", $"10.{x}.{y + 1}.1") })
        {
            await NetnsLab.InAsync(ns, "ip", "addr", "add", addr, "dev", dev);
            await NetnsLab.InAsync(ns, "ip", "link", "set", dev, "up");
            await NetnsLab.InAsync(ns, "ip", "route", "add", "default", "via", gw);
        }

        await NetnsLab.InAsync(node, "ip", "addr", "add", $"10.{x}.{y}.1/24", "dev", $"{p}hc");
        await NetnsLab.InAsync(node, "ip", "addr", "add", $"10.{x}.{y + 1}.1/24", "dev", $"{p}hs");
        await NetnsLab.InAsync(node, "ip", "link", "set", $"{p}hc", "up");
        await NetnsLab.InAsync(node, "ip", "link", "set", $"{p}hs", "up");
        await NetnsLab.InAsync(node, "sysctl", "-qw", "net.ipv4.ip_forward=1"); // inside the node namespace only
        await NetnsLab.InAsync(node, "ip", "rule", "add", "fwmark", "0x200/0xf00", "lookup", "2004", "pref", "9000");
        await NetnsLab.InAsync(node, "ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "2004");

        await using var origin = new RawOrigin(IPAddress.Parse(serverIp), lab.SocketFactory(server), port: 80);
        var policy = new TestPolicySource(TestPolicySource.UsersRules());
        var events = new RecordingSink();
        await using var proxy = new ProxyServer(policy, events) { SocketFactory = lab.SocketFactory(node) };
        var listener = await proxy.AddTransparentListenerAsync(0);
        Assert.Equal(IPAddress.Any, listener.LocalEndPoint.Address);
        var port = listener.LocalEndPoint.Port;

        var table = $"{p}tp";
        await NetnsLab.InAsync(node, "nft", "add", "table", "ip", table);
        await NetnsLab.InAsync(node, "nft", "add", "chain", "ip", table, "pre", "{ type filter hook prerouting priority mangle; policy accept; }");
        await NetnsLab.InAsync(node, "nft", "add", "rule", "ip", table, "pre", "iifname", $"{p}hc", "tcp", "dport", "80", "meta", "mark", "set", "0x200");
        await NetnsLab.InAsync(node, "nft", "add", "rule", "ip", table, "pre", "iifname", $"{p}hs", "tcp", "sport", "80", "meta", "mark", "set", "0x200");
        await NetnsLab.InAsync(node, "nft", "add", "rule", "ip", table, "pre", "meta", "l4proto", "tcp", "meta", "mark", "and", "0xf00", "==", "0x200", "tproxy", "to", $":{port}", "accept");
        await NetnsLab.InAsync(node, "nft", "add", "chain", "ip", table, "out", "{ type filter hook output priority 0; policy accept; }");
        await NetnsLab.InAsync(node, "nft", "add", "rule", "ip", table, "out", "meta", "mark", "0x03e90b00", "counter");

        var allowed = await NetnsLab.TryInAsync(client, "curl", "-sS", "--max-time", "10", "-w", "|%{http_code}", $"http://{serverIp}/api/v1/users/1");
        Assert.True(allowed.ExitCode == 0, allowed.Stderr);
        Assert.Equal("ok|200", allowed.Stdout);
        var denied = await NetnsLab.TryInAsync(client, "curl", "-sS", "--max-time", "10", "-X", "DELETE", "-w", "|%{http_code}", $"http://{serverIp}/api/v1/users/1");
        Assert.Equal("Access denied\r\n|403", denied.Stdout);

        // The upstream saw the client's own address (IP_TRANSPARENT + bind), and only the allowed request.
        Assert.Equal(IPAddress.Parse(clientIp), Assert.Single(origin.Peers).Address);
        Assert.Equal(["GET /api/v1/users/1 HTTP/1.1"], origin.RequestLines.ToArray());
        var request = events.WaitFor(e => e is { Kind: L7EventKind.HttpRequest, Verdict: L7Verdict.Forwarded });
        Assert.Equal(ProxyMode.Transparent, request.Connection.Mode);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(serverIp), 80), request.Connection.OriginalDestination);
        Assert.Equal(IPAddress.Parse(clientIp), request.Connection.Client.Address);
        Assert.Equal(port, request.Connection.ListenerPort);
        Assert.Equal($"http://{serverIp}/api/v1/users/1", request.HttpUrl);

        // Upstream packets carried SO_MARK 0x0B00 | 1001 << 16 (identity 1001 = 0x3e9).
        var counter = await NetnsLab.TryInAsync(node, "nft", "list", "chain", "ip", table, "out");
        var packets = System.Text.RegularExpressions.Regex.Match(counter.Stdout, @"counter packets (\d+)");
        Assert.True(packets.Success && long.Parse(packets.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, counter.Stdout);

        // Loop guard: a connection straight to the proxy port has the proxy's own address as destination.
        var loop = await NetnsLab.TryInAsync(client, "curl", "-sS", "--max-time", "5", $"http://10.{x}.{y}.1:{port}/api/v1/users/1");
        Assert.NotEqual(0, loop.ExitCode);
        var guard = events.WaitFor(e => e.Kind == L7EventKind.ProtocolError && (e.Detail ?? "").Contains("loop guard", StringComparison.Ordinal));
        Assert.Equal(port, guard.Connection.OriginalDestination.Port);
        Assert.Single(origin.Peers);
    }
}
