using Membrane.Observer.Flows;
using Membrane.Observer.Printers;

namespace Membrane.Observer.Tests.Printers;

public sealed class HubbleJsonReaderTests
{
    // Shaped like a line of `hubble observe -o json` from a Cilium 1.18 cluster with policy correlation: fields Membrane
    // does not model (ethernet, emitter, cluster workloads, uid label, empty policy_log entry) must be tolerated.
    private const string HubbleLine =
        """{"flow":{"time":"2026-02-03T04:05:06.700800900Z","uuid":"0b4f8a3e-1111-4222-8333-944455556666","emitter":{"name":"Hubble","version":"1.18.3"},"verdict":"DROPPED","drop_reason":181,"ethernet":{"source":"0a:00:00:00:00:01","destination":"0a:00:00:00:00:02"},"IP":{"source":"10.0.1.235","destination":"10.0.0.21","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":60524,"destination_port":80,"flags":{"SYN":true}}},"source":{"ID":423,"identity":24753,"cluster_name":"lab","namespace":"net-lab","labels":["k8s:app=traffic-generator"],"pod_name":"traffic-generator-5d8f","workloads":[{"name":"traffic-generator","kind":"Deployment"}]},"destination":{"identity":24075,"cluster_name":"lab","namespace":"net-lab","labels":["k8s:app=echo-server"],"pod_name":"echo-server-7c9d"},"Type":"L3_L4","node_name":"lab/worker-1","event_type":{"type":5},"traffic_direction":"EGRESS","policy_match_type":1,"drop_reason_desc":"POLICY_DENY","Summary":"TCP Flags: SYN","egress_denied_by":[{"name":"deny-echo","namespace":"net-lab","labels":["k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy","k8s:io.cilium.k8s.policy.name=deny-echo","k8s:io.cilium.k8s.policy.namespace=net-lab","k8s:io.cilium.k8s.policy.uid=5e1f"],"revision":"6","kind":"CiliumNetworkPolicy"}],"policy_log":[""]},"node_name":"lab/worker-1","time":"2026-02-03T04:05:06.700800900Z"}""";

    [Fact]
    public void Every_sample_round_trips_through_json()
    {
        foreach (var response in FlowSamples.All)
        {
            var line = HubbleJson.Serialize(response);
            var parsed = HubbleJsonReader.ParseResponse(line);
            Assert.NotNull(parsed);
            Assert.Equal(line, HubbleJson.Serialize(parsed.Value));
        }
    }

    [Fact]
    public void A_hubble_line_is_read_and_printed_like_hubble()
    {
        var response = HubbleJsonReader.ParseResponse(HubbleLine)!.Value;
        var flow = response.Flow;
        Assert.Equal(Verdict.Dropped, flow.Verdict);
        Assert.Equal(DropReason.PolicyDenyList, flow.DropReason);
        Assert.Equal(MonitorMessageType.PolicyVerdict, flow.EventType.Type);
        Assert.Equal(PolicyMatchType.L3Only, flow.PolicyMatchType);
        Assert.Equal("deny-echo", flow.EgressDeniedBy![0].Name);
        Assert.False(flow.EgressDeniedBy[0].DefaultDeny);
        Assert.Contains("k8s:io.cilium.k8s.policy.uid=5e1f", flow.EgressDeniedBy[0].Labels);
        Assert.Equal(Flow.ToUnixNanos(new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero)) + 700_800_900, flow.TimeUnixNanos);

        var output = new StringWriter { NewLine = "\n" };
        var printer = FlowPrinters.Create(OutputFormat.Compact, output, new PrinterOptions { PrintPolicyNames = true });
        printer.Write(response);
        Assert.Equal(
            "Feb  3 04:05:06.700: net-lab/traffic-generator-5d8f:60524 (ID:24753) <> net-lab/echo-server-7c9d:80 (ID:24075) policy-verdict:L3-Only EGRESS DENIED (TCP Flags: SYN) EGRESS DENIED BY net-lab/deny-echo (CiliumNetworkPolicy)\n",
            output.ToString());
    }

    [Fact]
    public void Bare_flows_lost_events_and_other_responses()
    {
        var bare = HubbleJsonReader.ParseResponse("""{"time":"1970-01-01T00:00:01Z","verdict":"FORWARDED","l4":{"UDP":{"source_port":1,"destination_port":53}}}""");
        Assert.Equal(Verdict.Forwarded, bare!.Value.Flow.Verdict);
        Assert.Equal(L4Protocol.Udp, bare.Value.Flow.L4.Protocol);

        var lost = HubbleJsonReader.ParseResponse("""{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"12","cpu":1},"node_name":"n","time":"1970-01-01T00:00:01.5Z"}""");
        Assert.Equal(new LostEvents(LostEventSource.PerfEventRingBuffer, 12, 1), lost!.Value.Lost);
        Assert.Equal(1_500_000_000, lost.Value.TimeUnixNanos);

        Assert.Null(HubbleJsonReader.ParseResponse("""{"node_status":{"state_change":"NODE_CONNECTED"},"time":"1970-01-01T00:00:01Z"}"""));
        Assert.Equal(Verdict.Dropped, HubbleJsonReader.ParseResponse("""{"flow":{"verdict":2,"reply":true}}""")!.Value.Flow.Verdict);
        Assert.True(HubbleJsonReader.ParseResponse("""{"flow":{"reply":true}}""")!.Value.Flow.IsReply);
    }

    [Theory]
    [InlineData("{", "invalid JSON")]
    [InlineData("[]", "$: expected an object")]
    [InlineData("""{"flow":{"l4":{"TCP":{"source_port":"x"}}}}""", "flow.l4.TCP.source_port: expected an unsigned 32-bit number")]
    [InlineData("""{"flow":{"l4":{"TCP":{"source_port":70000}}}}""", "flow.l4.TCP.source_port: port 70000 is out of range")]
    [InlineData("""{"flow":{"verdict":"DENIED"}}""", "flow.verdict: unknown value \"DENIED\"")]
    [InlineData("""{"flow":{"time":"yesterday"}}""", "flow.time: \"yesterday\" is not an RFC 3339 time")]
    [InlineData("""{"flow":{"IP":{"source":"10.0.0.300"}}}""", "flow.IP.source: \"10.0.0.300\" is not an IP address")]
    [InlineData("""{"flow":{"source":{"labels":"k8s:a=b"}}}""", "flow.source.labels: expected an array")]
    [InlineData("""{"flow":{"l7":{"kafka":{"api_key":"launch"}}}}""", "flow.l7.kafka.api_key: unknown API key \"launch\"")]
    [InlineData("""{"flow":{"ingress_denied_by":[{"revision":"x"}]}}""", "flow.ingress_denied_by[0].revision: expected an unsigned 64-bit number")]
    public void Errors_name_the_field(string line, string message)
    {
        var e = Assert.Throws<FormatException>(() => HubbleJsonReader.ParseResponse(line));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_a_file_names_the_file_and_line()
    {
        var text = HubbleJson.Serialize(FlowSamples.All[0]) + "\n\n" + """{"flow":{"uuid":"nope"}}""" + "\n";
        var read = HubbleJsonReader.ReadLines(new StringReader(text), "flows.json").GetEnumerator();
        Assert.True(read.MoveNext());
        var e = Assert.Throws<FormatException>(() => read.MoveNext());
        Assert.StartsWith("flows.json:3: flow.uuid: expected a uuid", e.Message, StringComparison.Ordinal);
    }
}
