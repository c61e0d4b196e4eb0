using System.Text.Json;
using Membrane.Cli.Tests.Support;
using Membrane.Tests.Shared;
using Xunit.Abstractions;

namespace Membrane.Cli.Tests.Commands.Agent;

/// <summary>
/// The seed article, done by a user with the real binary: <c>membrane agent</c> in a node namespace, endpoints created
/// with <c>membrane endpoint create</c>, the seed policy imported with <c>membrane policy import</c>, curl between pods
/// (allowed, denied at L7 with 403, dropped at L3/L4), and what <c>endpoint list</c>, <c>observe</c>, <c>monitor</c>,
/// <c>policy get</c>, <c>bpf ...</c>, <c>identity list</c> and <c>status</c> print, checked against golden files.
/// </summary>
public sealed class SeedScenarioTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_seed_policy_is_enforced_and_every_read_verb_shows_it()
    {
        await using var lab = await CliLab.StartAsync(output, ("frontend", "app=frontend"), ("users", "app=users"), ("billing", "app=billing"), ("other", "app=other"));
        await lab.ServeHttpAsync("users", 80);
        using var monitor = lab.StartMembrane("monitor", "--type", "drop");
        Assert.NotNull(await monitor.WaitForLineAsync(l => l.StartsWith("Listening for events", StringComparison.Ordinal), TimeSpan.FromSeconds(30)));

        var file = lab.WritePolicy("user-service-api-policy.yaml", TestPolicies.UserServiceApi);
        var (code, stdout, stderr) = await lab.MembraneAsync("policy", "import", file);
        Assert.True(code == 0, stderr);
        Assert.Equal("imported 1 policy: default/user-service-api-policy (CiliumNetworkPolicy)\nrevision 1 is enforcing (1 endpoint updated)\n", stdout);

        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", "http://10.244.1.12/api/v1/users/123")).Status);
        Assert.Equal(("403", "Access denied\r\n"), await lab.CurlAsync("frontend", "DELETE", "http://10.244.1.12/api/v1/users/123"));
        Assert.Equal("200", (await lab.CurlAsync("billing", "POST", "http://10.244.1.12/api/v1/payments")).Status);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", "http://10.244.1.12/api/v1/users/123", maxSeconds: 1.5)).Status);

        // monitor: the seed's drop line, with the L7 request the proxy denied, and the L3/L4 drop.
        var l7Drop = await monitor.WaitForLineAsync(l => l.Contains("DELETE", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var l4Drop = await monitor.WaitForLineAsync(l => l.Contains("10.244.1.14", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        output.WriteLine(string.Join("\n", monitor.Stdout));
        await monitor.StopAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(l7Drop);
        Assert.NotNull(l4Drop);
        Golden.AssertMatches("monitor-drop.txt", Golden.Normalize(l7Drop + "\n" + l4Drop + "\n"));

        (code, stdout, stderr) = await lab.MembraneAsync("endpoint", "list");
        Assert.True(code == 0, stderr);
        Golden.AssertMatches("endpoint-list.txt", stdout);

        (code, stdout, stderr) = await lab.MembraneAsync("observe", "--type", "l7", "-o", "table", "--last", "20");
        Assert.True(code == 0, stderr);
        Golden.AssertMatches("observe-l7-table.txt", Golden.Normalize(stdout));

        (code, stdout, stderr) = await lab.MembraneAsync("observe", "--verdict", "DROPPED", "--from-pod", "default/other", "--type", "drop",
            "--last", "1", "--print-policy-names");
        Assert.True(code == 0, stderr);
        Golden.AssertMatches("observe-drop-compact.txt", Golden.Normalize(stdout));

        (code, stdout, stderr) = await lab.MembraneAsync("observe", "--from-app", "frontend", "--to-app", "users", "-n", "default",
            "--http-method", "DELETE", "--verdict", "DROPPED", "-o", "json", "--last", "1");
        Assert.True(code == 0, stderr);
        var flow = JsonDocument.Parse(stdout).RootElement.GetProperty("flow");
        Assert.Equal("DROPPED", flow.GetProperty("verdict").GetString());
        Assert.Equal("L7", flow.GetProperty("Type").GetString());
        Assert.Equal("POLICY_DENIED", flow.GetProperty("drop_reason_desc").GetString());
        Assert.Equal("INGRESS", flow.GetProperty("traffic_direction").GetString());
        Assert.Equal(129, flow.GetProperty("event_type").GetProperty("type").GetInt32());
        Assert.Equal("frontend", flow.GetProperty("source").GetProperty("pod_name").GetString());
        Assert.Equal("default", flow.GetProperty("destination").GetProperty("namespace").GetString());
        Assert.Contains("k8s:app=users", flow.GetProperty("destination").GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("DELETE", flow.GetProperty("l7").GetProperty("http").GetProperty("method").GetString());
        Assert.Equal(80, flow.GetProperty("l4").GetProperty("TCP").GetProperty("destination_port").GetInt32());
        Assert.Equal("10.244.1.12", flow.GetProperty("IP").GetProperty("destination").GetString());
        Assert.Equal(lab.Instance, flow.GetProperty("node_name").GetString());
        var deniedBy = Assert.Single(flow.GetProperty("ingress_denied_by").EnumerateArray());
        Assert.Equal("user-service-api-policy", deniedBy.GetProperty("name").GetString());
        Assert.Equal("CiliumNetworkPolicy", deniedBy.GetProperty("kind").GetString());
        Assert.Equal("1", deniedBy.GetProperty("revision").GetString());

        (code, stdout, stderr) = await lab.MembraneAsync("policy", "get");
        Assert.True(code == 0, stderr);
        output.WriteLine(stdout);
        Assert.Matches(@"^Revision: 1\nNAMESPACE   NAME                      KIND                  SOURCE\s+REVISION   ENDPOINTS\n" +
            @"default     user-service-api-policy   CiliumNetworkPolicy   /\S+/user-service-api-policy.yaml:4:1\s+1\s+2\n$", stdout);

        (code, stdout, stderr) = await lab.MembraneAsync("policy", "get", "user-service-api-policy");
        Assert.True(code == 0, stderr);
        Assert.Contains("path: \"/api/v1/payments\"", stdout);

        // trace against the live state: peers by pod name or endpoint id, the agent's policies.
        (code, stdout, stderr) = await lab.MembraneAsync("policy", "trace", "--src", "frontend", "--dst", "default/users", "--dport", "80",
            "--http-method", "DELETE", "--http-path", "/api/v1/users/123");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("Live policy of the agent (revision 1, 1 policy)\nTracing TCP default/frontend (10.244.1.11) (identity 7740) -> default/users (10.244.1.12) (identity 10616) port 80\n", stdout);
        Assert.Contains("  L7: DELETE /api/v1/users/123: no HTTP rule matches: 403 Access denied", stdout);
        Assert.Contains("  verdict: DENIED at L7", stdout);
        Assert.EndsWith("Final verdict: DENIED\n", stdout);
        (code, stdout, _) = await lab.MembraneAsync("policy", "trace", "--src", "1", "--dst", "2", "--dport", "80", "--http-path", "/api/v1/users/7");
        Assert.Equal(0, code);
        Assert.EndsWith("Final verdict: ALLOWED\n", stdout);
        (code, stdout, _) = await lab.MembraneAsync("policy", "trace", "--src", "other", "--dst", "users", "--dport", "80", "-o", "json");
        Assert.Equal(0, code);
        var trace = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("denied", trace.GetProperty("verdict").GetString());
        Assert.Equal(133, trace.GetProperty("ingress").GetProperty("dropReason").GetInt32());
        (code, _, stderr) = await lab.MembraneAsync("policy", "trace", "--src", "nobody", "--dst", "users", "--dport", "80");
        Assert.Equal(2, code);
        Assert.Contains("--src nobody: no endpoint for pod \"nobody\"", stderr);

        (code, stdout, stderr) = await lab.MembraneAsync("bpf", "policy", "get", "users");
        Assert.True(code == 0, stderr);
        Golden.AssertMatches("bpf-policy-get.txt", stdout);

        (code, stdout, stderr) = await lab.MembraneAsync("identity", "list");
        Assert.True(code == 0, stderr);
        Golden.AssertMatches("identity-list.txt", stdout);

        (code, stdout, _) = await lab.MembraneAsync("identity", "get", "10616");
        Assert.Equal(0, code);
        Assert.Equal("ID      LABELS                                     ENDPOINTS\n10616   k8s:app=users                              2\n" +
            "        k8s:io.cilium.k8s.policy.cluster=default\n        k8s:io.kubernetes.pod.namespace=default\n", stdout);
        (code, stdout, _) = await lab.MembraneAsync("endpoint", "get", "users", "-o", "json");
        Assert.Equal(0, code);
        var endpoint = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(2, endpoint.GetProperty("id").GetInt32());
        Assert.Equal("Enabled", endpoint.GetProperty("ingressEnforcement").GetString());
        Assert.Equal("user-service-api-policy", Assert.Single(endpoint.GetProperty("ingressPolicies").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(15080, Assert.Single(endpoint.GetProperty("proxyRedirects").EnumerateArray()).GetProperty("proxyPort").GetInt32());

        (code, stdout, stderr) = await lab.MembraneAsync("bpf", "ipcache", "list");
        Assert.True(code == 0, stderr);
        Golden.AssertMatches("bpf-ipcache-list.txt", stdout);

        (code, stdout, stderr) = await lab.MembraneAsync("bpf", "ct", "list");
        Assert.True(code == 0, stderr);
        Assert.Contains("proxy-redirect", stdout);
        Assert.Contains("10.244.1.11:", stdout);

        (code, stdout, stderr) = await lab.MembraneAsync("status");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("Endpoints:        4\n", stdout);
        Assert.Contains("Policies:         1 (revision 1, enforcement default)\n", stdout);
        Assert.Contains("Proxy:            http 0.0.0.0:15080 (2 redirects), kafka 0.0.0.0:15090 (0 redirects)\n", stdout);
        Assert.Contains("BPF features:     tcx=yes ringbuf=yes sk_assign=yes lpm_trie=yes", stdout);
        Assert.Matches(@"Flows:            \d+/4095 buffered, \d+ seen, 0 lost\n", stdout);
        Assert.Contains("Health:           OK\n", stdout);

        (code, stdout, _) = await lab.MembraneAsync("status", "--verbose");
        Assert.Equal(0, code);
        Assert.Matches(@"\nDrops:\n  REASON\s+DIRECTION\s+PACKETS\n  Policy denied \(133\)\s+ingress\s+\d+\n", stdout);
        Assert.Matches(@"\n  policy \(endpoint 2\)\s+3\s+16382\s+0\.0%\n", stdout);
        Assert.Contains("Lost events:      kernel ring buffer 0, event queue 0, flow buffer 0, slow readers 0\n", stdout);
        Assert.Contains("\n  proxy       OK      http 0.0.0.0:15080, kafka 0.0.0.0:15090\n", stdout);

        (code, stdout, _) = await lab.MembraneAsync("status", "-o", "json");
        Assert.Equal(0, code);
        var status = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(4, status.GetProperty("endpoints").GetInt32());
        Assert.True(status.GetProperty("healthy").GetBoolean());
    }
}
