using System.Net;
using System.Text.Json;
using Membrane.Agent.Api;
using Membrane.Agent.Tests.Support;
using Membrane.Tests.Shared;
using Xunit.Abstractions;

namespace Membrane.Agent.Tests.Hosting;

/// <summary>
/// The real agent (in this process) enforcing a node namespace this test creates: endpoints created through the API
/// client, policies imported through it, real traffic with curl between pod namespaces, flows and metrics read back.
/// Root, netns and BPF are required: a kernel without the features fails the start, it never skips.
/// </summary>
public sealed class AgentHostTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> Frontend = new() { ["app"] = "frontend" };
    private static readonly Dictionary<string, string> Users = new() { ["app"] = "users" };
    private static readonly Dictionary<string, string> Billing = new() { ["app"] = "billing" };
    private static readonly Dictionary<string, string> Other = new() { ["app"] = "other" };

    [Fact]
    public async Task Endpoints_created_through_the_API_enforce_an_imported_L3_L4_policy()
    {
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users), ("other", "default", Other)]);
        await lab.ServeHttpAsync("users", 80);
        await lab.ServeHttpAsync("users", 8080);
        var users = lab["users"].Address;

        Assert.Equal("200", (await lab.CurlAsync("other", "GET", $"http://{users}/before")).Status);

        var change = await lab.ImportAsync("users-l4.yaml", TestPolicies.UsersL4);
        Assert.Equal(1, change.Revision);
        Assert.Equal([new PolicyRefModel("CiliumNetworkPolicy", "default", "users-l4")], change.Changed);

        var allowed = await lab.CurlAsync("frontend", "GET", $"http://{users}/api/v1/users/1");
        Assert.Equal(("200", "GET /api/v1/users/1\n"), allowed);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", $"http://{users}/", maxSeconds: 1.5)).Status);
        Assert.Equal("000", (await lab.CurlAsync("frontend", "GET", $"http://{users}:8080/", maxSeconds: 1.5)).Status);

        var endpoint = await lab.Client.GetEndpointAsync("default/users");
        Assert.Equal("Enabled", endpoint.IngressEnforcement);
        Assert.Equal("Disabled", endpoint.EgressEnforcement);
        Assert.Equal("ready", endpoint.Status);
        Assert.Equal([new PolicyRefModel("CiliumNetworkPolicy", "default", "users-l4")], endpoint.IngressPolicies);
        Assert.Contains("k8s:app=users", endpoint.Labels);
        Assert.Contains("k8s:io.kubernetes.pod.namespace=default", endpoint.Labels);

        var status = await lab.Client.GetStatusAsync();
        Assert.Equal(3, status.Endpoints);
        Assert.Equal(1, status.Policies);
        Assert.Equal(1, status.PolicyRevision);
        Assert.True(status.Healthy, string.Join("; ", status.Health.Select(h => $"{h.Name}: {h.Message}")));
        Assert.Contains(status.Drops, d => d.Code == 133 && d.Direction == "ingress" && d.Packets > 0);

        // The drop names the policy that put users' ingress into default deny.
        var flows = await ObserveAsync(lab, "--verdict", "DROPPED", "--from-pod", "default/other", "--last", "50");
        var drop = Assert.Single(flows.Where(f => f.GetProperty("drop_reason_desc").GetString() == "POLICY_DENIED").Take(1));
        var deniedBy = Assert.Single(drop.GetProperty("ingress_denied_by").EnumerateArray());
        Assert.Equal("users-l4", deniedBy.GetProperty("name").GetString());
        Assert.Contains("membrane:default-deny", deniedBy.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("other", drop.GetProperty("source").GetProperty("pod_name").GetString());
        Assert.Equal("users", drop.GetProperty("destination").GetProperty("pod_name").GetString());
        Assert.Equal("INGRESS", drop.GetProperty("traffic_direction").GetString());
    }

    [Fact]
    public async Task L7_rules_are_enforced_by_the_transparent_proxy_and_recorded_as_flows()
    {
        await using var lab = await AgentLab.StartAsync(output,
            [("frontend", "default", Frontend), ("users", "default", Users), ("billing", "default", Billing), ("other", "default", Other)]);
        await lab.ServeHttpAsync("users", 80);
        var users = lab["users"].Address;
        await lab.ImportAsync("user-service-api-policy.yaml", TestPolicies.UserServiceApi);

        Assert.Equal(("200", "GET /api/v1/users/123\n"), await lab.CurlAsync("frontend", "GET", $"http://{users}/api/v1/users/123"));
        Assert.Equal(("403", "Access denied\r\n"), await lab.CurlAsync("frontend", "DELETE", $"http://{users}/api/v1/users/123"));
        Assert.Equal("200", (await lab.CurlAsync("billing", "POST", $"http://{users}/api/v1/payments")).Status);
        Assert.Equal("403", (await lab.CurlAsync("billing", "GET", $"http://{users}/api/v1/users/123")).Status);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", $"http://{users}/api/v1/users/123", maxSeconds: 1.5)).Status);

        var endpoint = await lab.Client.GetEndpointAsync("users");
        Assert.Contains(endpoint.ProxyRedirects, r => r is { Direction: "ingress", PortProtocol: "80/TCP", L7: "http", ProxyPort: 15080 });

        var l7 = await ObserveAsync(lab, "--type", "l7", "--http-method", "DELETE", "--last", "10");
        var denied = Assert.Single(l7, f => f.GetProperty("verdict").GetString() == "DROPPED");
        Assert.Equal("L7", denied.GetProperty("Type").GetString());
        Assert.Equal("REQUEST", denied.GetProperty("l7").GetProperty("type").GetString());
        Assert.Equal("DELETE", denied.GetProperty("l7").GetProperty("http").GetProperty("method").GetString());
        Assert.EndsWith("/api/v1/users/123", denied.GetProperty("l7").GetProperty("http").GetProperty("url").GetString());
        Assert.Equal("POLICY_DENIED", denied.GetProperty("drop_reason_desc").GetString());
        var by = Assert.Single(denied.GetProperty("ingress_denied_by").EnumerateArray());
        Assert.Equal("user-service-api-policy", by.GetProperty("name").GetString());
        Assert.Equal("frontend", denied.GetProperty("source").GetProperty("pod_name").GetString());

        var allowed = await ObserveAsync(lab, "--type", "l7", "--http-method", "GET", "--http-status", "200", "--last", "10");
        var response = Assert.Single(allowed);
        Assert.Equal("RESPONSE", response.GetProperty("l7").GetProperty("type").GetString());
        Assert.Equal(200, response.GetProperty("l7").GetProperty("http").GetProperty("code").GetInt32());

        var requests = await ObserveAsync(lab, "--type", "l7", "--from-pod", "default/frontend", "--verdict", "FORWARDED", "--last", "10");
        var request = Assert.Single(requests, f => f.GetProperty("l7").GetProperty("type").GetString() == "REQUEST");
        Assert.Equal("user-service-api-policy", Assert.Single(request.GetProperty("ingress_allowed_by").EnumerateArray()).GetProperty("name").GetString());

        var metrics = await lab.Client.GetMetricsAsync();
        Assert.Contains("hubble_http_requests_total{method=\"DELETE\"", metrics);
        Assert.Contains("hubble_drop_total{reason=\"POLICY_DENIED\",protocol=\"HTTP\"}", metrics);
        Assert.Contains("cilium_proxy_redirects{protocol=\"http\"} 2", metrics);
    }

    [Fact]
    public async Task A_policy_change_applies_to_the_next_request_of_an_open_proxied_connection()
    {
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users)]);
        await lab.ServeHttpAsync("users", 80);
        await lab.ImportAsync("user-service-api-policy.yaml", TestPolicies.UserServiceApi);

        // One keep-alive connection from the frontend pod, reused for every request.
        var connections = 0;
        using var thread = new Membrane.Datapath.Netns.NetnsThread(lab["frontend"].Netns.Path);
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (context, token) =>
            {
                Interlocked.Increment(ref connections);
                var socket = thread.Run(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork,
                    System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true });
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"http://{lab["users"].Address}/"), Timeout = TimeSpan.FromSeconds(5) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/users/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.DeleteAsync("api/v1/users/1")).StatusCode);

        await lab.ImportAsync("user-service-api-policy.yaml", TestPolicies.UserServiceApi.Replace("method: \"GET\"", "method: \"GET|DELETE\"", StringComparison.Ordinal));
        var after = await http.DeleteAsync("api/v1/users/1");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("DELETE /api/v1/users/1\n", await after.Content.ReadAsStringAsync());

        await lab.ImportAsync("user-service-api-policy.yaml", TestPolicies.UserServiceApi);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.DeleteAsync("api/v1/users/1")).StatusCode);
        Assert.Equal(1, connections);
    }

    [Fact]
    public async Task A_rejected_import_changes_nothing_and_the_previous_revision_keeps_enforcing()
    {
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users), ("other", "default", Other)]);
        await lab.ServeHttpAsync("users", 80);
        var users = lab["users"].Address;
        await lab.ImportAsync("users-l4.yaml", TestPolicies.UsersL4);

        var error = await Assert.ThrowsAsync<AgentApiException>(() => lab.Client.ImportPoliciesAsync(new PolicyImportRequest
        {
            Documents = [new PolicyDocument("policies/broken.yaml", TestPolicies.Invalid), new PolicyDocument("policies/allow-all.yaml", AllowOtherToUsers)],
        }));
        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Contains(error.Error.Errors, e => e.StartsWith("policies/broken.yaml:11:", StringComparison.Ordinal) && e.Contains("fromEndpoint", StringComparison.Ordinal));
        Assert.Contains(error.Error.Errors, e => e.StartsWith("policies/broken.yaml:", StringComparison.Ordinal) && e.Contains("/api(", StringComparison.Ordinal));

        var list = await lab.Client.ListPoliciesAsync();
        Assert.Equal(1, list.Revision);
        Assert.Equal("users-l4", Assert.Single(list.Policies).Policy.Name);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", $"http://{users}/", maxSeconds: 1.5)).Status);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", $"http://{users}/")).Status);
    }

    [Fact]
    public async Task A_live_connection_keeps_working_across_an_agent_restart_and_the_state_is_restored()
    {
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users), ("other", "default", Other)]);
        await lab.ServeHttpAsync("users", 80);
        lab.ServeEcho("users", 9000);
        var users = lab["users"].Address;
        await lab.ImportAsync("users-l4.yaml", TestPolicies.UsersL4);
        var before = await lab.Client.ListEndpointsAsync();

        using var connection = new PodEchoClient(lab["frontend"].Netns.Path, new IPEndPoint(users, 9000));
        var failures = 0;
        var roundTrips = 0;
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!await connection.RoundTripAsync($"ping {roundTrips}", TimeSpan.FromSeconds(2)))
                {
                    failures++;
                }

                roundTrips++;
                await Task.Delay(5);
            }
        });

        await Task.Delay(500);
        await lab.StopAgentAsync();
        // The agent is down: the kernel keeps enforcing (allowed stays allowed, denied stays denied).
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", $"http://{users}/", maxSeconds: 1.5)).Status);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", $"http://{users}/")).Status);
        await lab.StartAgentAsync();
        await Task.Delay(1000);
        await stop.CancelAsync();
        await traffic;

        Assert.True(roundTrips > 100, $"only {roundTrips} round trips");
        Assert.Equal(0, failures);

        var after = await lab.Client.ListEndpointsAsync();
        Assert.Equal(before.Select(e => (e.Id, e.PodName, e.Identity, e.IngressEnforcement)), after.Select(e => (e.Id, e.PodName, e.Identity, e.IngressEnforcement)));
        var policies = await lab.Client.ListPoliciesAsync();
        Assert.Equal(1, policies.Revision);
        Assert.Equal("users-l4", Assert.Single(policies.Policies).Policy.Name);
        Assert.Equal("000", (await lab.CurlAsync("other", "GET", $"http://{users}/", maxSeconds: 1.5)).Status);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", $"http://{users}/")).Status);

        // The restored agent takes changes as before.
        var change = await lab.Client.DeletePoliciesAsync(new PolicyDeleteRequest { All = true });
        Assert.Equal(2, change.Revision);
        Assert.Equal("200", (await lab.CurlAsync("other", "GET", $"http://{users}/")).Status);
    }

    [Fact]
    public async Task Metrics_are_served_on_the_host_address()
    {
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users)]);
        await lab.ServeHttpAsync("users", 80);
        await lab.ImportAsync("users-l4.yaml", TestPolicies.UsersL4);
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", $"http://{lab["users"].Address}/")).Status);

        var address = lab.Host.MetricsAddress ?? throw new Xunit.Sdk.XunitException("metrics are not served");
        var (code, body, stderr) = await Processes.RunAsync("curl", ["-s", "--max-time", "5", $"http://{address}/metrics"], TimeSpan.FromSeconds(10));
        Assert.True(code == 0, stderr);
        Assert.Contains("# TYPE hubble_flows_processed_total counter", body);
        Assert.Contains("hubble_flows_processed_total{type=\"PolicyVerdict\"", body);
        Assert.Contains("cilium_bpf_map_pressure{map_name=\"conntrack\"}", body);
        Assert.Contains("membrane_flow_buffer_capacity 4095", body);
    }

    [Fact]
    public async Task A_burst_of_events_never_blocks_the_datapath_and_the_loss_is_counted_in_status()
    {
        // A 4 KiB kernel ring buffer (64 events), a 256-event queue to the flow builder, a 16-flow buffer and a trace
        // event per packet: a burst of denied datapath must overflow all of them.
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users), ("other", "default", Other)],
            o => o with { EventBufferBytes = 4096, EventQueueCapacity = 256, FlowBufferCapacity = 16, TraceEvents = Membrane.Datapath.TraceEventLevel.AllPackets });
        await lab.ServeHttpAsync("users", 80);
        var users = lab["users"].Address;
        await lab.ImportAsync("users-l4.yaml", TestPolicies.UsersL4);

        const int Datagrams = 20_000;
        using (var thread = new Membrane.Datapath.Netns.NetnsThread(lab["other"].Netns.Path))
        {
            using var udp = thread.Run(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork,
                System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp));
            var payload = new byte[32];
            var target = new IPEndPoint(users, 9999);
            for (var i = 0; i < Datagrams; i++)
            {
                udp.SendTo(payload, target);
            }
        }

        // The datapath kept forwarding allowed traffic through the burst.
        Assert.Equal("200", (await lab.CurlAsync("frontend", "GET", $"http://{users}/")).Status);

        var status = await lab.Client.GetStatusAsync();
        output.WriteLine($"seen {status.Flows.SeenFlows}, kernel lost {status.Flows.LostInKernelRingBuffer}, queue lost {status.Flows.LostInEventQueue}, " +
            $"buffer lost {status.Flows.LostInFlowBuffer}, total {status.Flows.LostTotal}");
        Assert.True(status.Flows.LostInKernelRingBuffer + status.Flows.LostInEventQueue > 0, "no event was lost: the burst did not overflow anything");
        Assert.Equal(status.Flows.LostInKernelRingBuffer + status.Flows.LostInEventQueue + status.Flows.LostInFlowBuffer + status.Flows.LostToReaders,
            status.Flows.LostTotal);
        Assert.Equal(16, status.Flows.MaxFlows);
        Assert.Equal(16, status.Flows.CurrentFlows);
        Assert.True(status.Flows.SeenFlows > 16);
        var drops = status.Drops.Where(d => d.Code == 133).Sum(d => (long)d.Packets);
        Assert.True(drops >= Datagrams, $"{drops} drops counted for {Datagrams} denied datagrams");

        var metrics = await lab.Client.GetMetricsAsync();
        Assert.Matches("hubble_lost_events_total\\{source=\"(perf_event_ring_buffer|observer_events_queue)\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task Enforcement_mode_always_denies_without_any_policy_and_the_drop_names_the_mode()
    {
        await using var lab = await AgentLab.StartAsync(output, [("frontend", "default", Frontend), ("users", "default", Users)],
            o => o with { PolicyEnforcement = "always" });
        await lab.ServeHttpAsync("users", 80);

        Assert.Equal("000", (await lab.CurlAsync("frontend", "GET", $"http://{lab["users"].Address}/", maxSeconds: 1.5)).Status);
        var status = await lab.Client.GetStatusAsync();
        Assert.Equal("always", status.PolicyEnforcement);
        Assert.All(await lab.Client.ListEndpointsAsync(), e => Assert.Equal(("Enabled", "Enabled"), (e.IngressEnforcement, e.EgressEnforcement)));

        var drop = (await ObserveAsync(lab, "--verdict", "DROPPED", "--type", "drop", "--last", "1")).Single();
        Assert.Equal("EGRESS", drop.GetProperty("traffic_direction").GetString());
        var by = Assert.Single(drop.GetProperty("egress_denied_by").EnumerateArray());
        Assert.Equal("policy-enforcement-always", by.GetProperty("name").GetString());
        Assert.Equal("Membrane", by.GetProperty("kind").GetString());
    }

    private const string AllowOtherToUsers = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: allow-other
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: users
          ingress:
          - fromEndpoints:
            - matchLabels:
                app: other
        """;

    private static async Task<List<JsonElement>> ObserveAsync(AgentLab lab, params string[] args)
    {
        var flows = new List<JsonElement>();
        await foreach (var line in lab.Client.ObserveAsync(new ObserveRequest(args)))
        {
            var root = JsonDocument.Parse(line).RootElement;
            if (root.TryGetProperty("flow", out var flow))
            {
                flows.Add(flow.Clone());
            }
        }

        return flows;
    }
}
