using Membrane.Observer.Flows;
using Membrane.Observer.Metrics;
using Membrane.Observer.Tests.Printers;

namespace Membrane.Observer.Tests.Metrics;

public sealed class FlowMetricsTests
{
    private static (MetricRegistry Registry, FlowMetrics Metrics) Processed()
    {
        var registry = new MetricRegistry();
        var metrics = new FlowMetrics(registry);
        foreach (var response in FlowSamples.All.Where(r => r.Kind == FlowResponseKind.Flow))
        {
            metrics.Process(response.Flow);
        }

        return (registry, metrics);
    }

    [Fact]
    public void Flows_are_counted_by_type_subtype_and_verdict()
    {
        var parsed = ExpositionParser.Parse(Processed().Registry.Export());
        const string m = "hubble_flows_processed_total";
        Assert.Equal(1, parsed.Value(m, ("type", "L7"), ("subtype", "HTTP"), ("verdict", "DROPPED")));
        Assert.Equal(2, parsed.Value(m, ("type", "L7"), ("subtype", "HTTP"), ("verdict", "FORWARDED")));
        Assert.Equal(1, parsed.Value(m, ("type", "L7"), ("subtype", "HTTP"), ("verdict", "ERROR")));
        Assert.Equal(1, parsed.Value(m, ("type", "L7"), ("subtype", "Kafka"), ("verdict", "DROPPED")));
        Assert.Equal(1, parsed.Value(m, ("type", "PolicyVerdict"), ("subtype", ""), ("verdict", "FORWARDED")));
        Assert.Equal(1, parsed.Value(m, ("type", "PolicyVerdict"), ("subtype", ""), ("verdict", "DROPPED")));
        Assert.Equal(1, parsed.Value(m, ("type", "Drop"), ("subtype", ""), ("verdict", "DROPPED")));
        Assert.Equal(1, parsed.Value(m, ("type", "Trace"), ("subtype", "to-endpoint"), ("verdict", "FORWARDED")));
        Assert.Equal(1, parsed.Value(m, ("type", "Trace"), ("subtype", "from-endpoint"), ("verdict", "FORWARDED")));
        Assert.Equal(10, parsed.Samples.Where(s => s.Name == m).Sum(s => s.Value));
        Assert.Equal("counter", parsed.Types[m]);
    }

    [Fact]
    public void Drops_are_counted_by_reason_protocol_and_direction()
    {
        var parsed = ExpositionParser.Parse(Processed().Registry.Export());
        Assert.Equal(1, parsed.Value("hubble_drop_total", ("reason", "POLICY_DENIED"), ("protocol", "HTTP")));
        Assert.Equal(1, parsed.Value("hubble_drop_total", ("reason", "POLICY_DENIED"), ("protocol", "TCP")));
        Assert.Equal(1, parsed.Value("hubble_drop_total", ("reason", "POLICY_DENIED"), ("protocol", "Kafka")));
        Assert.Equal(1, parsed.Value("hubble_drop_total", ("reason", "POLICY_DENY"), ("protocol", "ICMPv4")));
        Assert.Equal(1, parsed.Value("cilium_drop_count_total", ("reason", "Policy denied"), ("direction", "INGRESS")));
        Assert.Equal(1, parsed.Value("cilium_drop_count_total", ("reason", "Policy denied by denylist"), ("direction", "EGRESS")));
        Assert.Equal(2, parsed.Samples.Count(s => s.Name == "cilium_drop_count_total"));
    }

    [Fact]
    public void Http_and_kafka_requests_responses_and_durations()
    {
        var parsed = ExpositionParser.Parse(Processed().Registry.Export());
        Assert.Equal(1, parsed.Value("hubble_http_requests_total", ("method", "DELETE"), ("protocol", "HTTP/1.1"), ("reporter", "server")));
        Assert.Equal(2, parsed.Value("hubble_http_requests_total", ("method", "GET"), ("protocol", "HTTP/1.1"), ("reporter", "server")));
        Assert.Equal(1, parsed.Value("hubble_http_responses_total", ("method", "GET"), ("status", "200"), ("reporter", "server")));
        Assert.Equal(1, parsed.Value("hubble_http_request_duration_seconds_bucket", ("method", "GET"), ("reporter", "server"), ("le", "0.005")));
        Assert.Equal(1, parsed.Value("hubble_http_request_duration_seconds_count", ("method", "GET"), ("reporter", "server")));
        Assert.Equal(0.00325, parsed.Value("hubble_http_request_duration_seconds_sum", ("method", "GET"), ("reporter", "server")), 9);
        Assert.Equal(1, parsed.Value("hubble_kafka_requests_total", ("topic", "orders-topic"), ("api_key", "produce"), ("error_code", "29"), ("reporter", "server")));
    }

    [Fact]
    public void Policy_verdicts_cover_l3_l4_decisions_and_l7_requests()
    {
        var parsed = ExpositionParser.Parse(Processed().Registry.Export());
        const string m = "hubble_policy_verdicts_total";
        Assert.Equal(1, parsed.Value(m, ("direction", "ingress"), ("match", "l3-l4"), ("action", "forwarded")));
        Assert.Equal(1, parsed.Value(m, ("direction", "egress"), ("match", "l3-only"), ("action", "dropped")));
        Assert.Equal(1, parsed.Value(m, ("direction", "ingress"), ("match", "l7/http"), ("action", "dropped")));
        Assert.Equal(1, parsed.Value(m, ("direction", "ingress"), ("match", "l7/http"), ("action", "forwarded")));
        Assert.Equal(1, parsed.Value(m, ("direction", "ingress"), ("match", "l7/http"), ("action", "error")));
        Assert.Equal(1, parsed.Value(m, ("direction", "ingress"), ("match", "l7/kafka"), ("action", "dropped")));
        Assert.Equal(3, parsed.Value("cilium_policy_l7_total", ("rule", "received"), ("proxy_type", "http")));
        Assert.Equal(1, parsed.Value("cilium_policy_l7_total", ("rule", "forwarded"), ("proxy_type", "http")));
        Assert.Equal(1, parsed.Value("cilium_policy_l7_total", ("rule", "denied"), ("proxy_type", "http")));
        Assert.Equal(1, parsed.Value("cilium_policy_l7_total", ("rule", "parse_errors"), ("proxy_type", "http")));
        Assert.Equal(1, parsed.Value("cilium_policy_l7_total", ("rule", "denied"), ("proxy_type", "kafka")));
    }

    [Fact]
    public void Tcp_flags_and_icmp_types()
    {
        var parsed = ExpositionParser.Parse(Processed().Registry.Export());
        Assert.Equal(2, parsed.Value("hubble_tcp_flags_total", ("flag", "SYN"), ("family", "IPv4")));
        Assert.Equal(1, parsed.Value("hubble_tcp_flags_total", ("flag", "SYN-ACK"), ("family", "IPv4")));
        Assert.Equal(1, parsed.Value("hubble_icmp_total", ("family", "IPv4"), ("type", "EchoRequest")));
    }

    [Fact]
    public void Lost_events_ring_state_redirects_and_map_pressure()
    {
        var (registry, metrics) = Processed();
        metrics.RecordLostEvents(LostEventSource.PerfEventRingBuffer, 5);
        metrics.ObserveRing(new FlowRingStatistics(4095, 100, 100, 1, 10));
        metrics.ObserveRing(new FlowRingStatistics(4095, 4095, 9000, 1, 17));
        metrics.SetProxyRedirects("http", 3);
        metrics.SetBpfMapPressure("cilium_policy_v2_01121", 0.25);
        var parsed = ExpositionParser.Parse(registry.Export());
        Assert.Equal(5, parsed.Value("hubble_lost_events_total", ("source", "perf_event_ring_buffer")));
        Assert.Equal(18, parsed.Value("hubble_lost_events_total", ("source", "hubble_ring_buffer")));
        Assert.Equal(9000, parsed.Value("membrane_flows_seen_total"));
        Assert.Equal(4095, parsed.Value("membrane_flow_buffer_flows"));
        Assert.Equal(4095, parsed.Value("membrane_flow_buffer_capacity"));
        Assert.Equal(3, parsed.Value("cilium_proxy_redirects", ("protocol", "http")));
        Assert.Equal(0.25, parsed.Value("cilium_bpf_map_pressure", ("map_name", "cilium_policy_v2_01121")));
        Assert.Equal("gauge", parsed.Types["cilium_proxy_redirects"]);
        Assert.All(parsed.Types.Keys, name => Assert.True(parsed.Help.ContainsKey(name), $"{name} has no HELP"));
    }

    [Fact]
    public void Processing_known_flows_allocates_nothing()
    {
        var (_, metrics) = Processed();
        var flows = FlowSamples.All.Where(r => r.Kind == FlowResponseKind.Flow).Select(r => r.Flow).ToArray();
        foreach (var f in flows)
        {
            metrics.Process(f);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            foreach (ref readonly var f in flows.AsSpan())
            {
                metrics.Process(f);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
