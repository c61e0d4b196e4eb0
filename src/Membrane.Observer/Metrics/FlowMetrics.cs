using System.Globalization;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Metrics;

/// <summary>
/// The flow metrics the agent exposes, named like Hubble's and Cilium's (reference §6.4), updated from flows by
/// <see cref="Process"/>. Processing a flow whose label values were seen before allocates nothing.
/// </summary>
public sealed class FlowMetrics
{
    /// <summary>Hubble's default histogram buckets (Prometheus <c>DefBuckets</c>), in seconds.</summary>
    public static readonly double[] DefaultDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private const int VerdictCount = 8;
    private const int TraceSubTypes = 14;
    private const int KindHttp = 0;
    private const int KindKafka = 1;
    private const int KindL7Other = 2;
    private const int KindDrop = 3;
    private const int KindCapture = 4;
    private const int KindPolicyVerdict = 5;
    private const int KindTraceOther = 6;
    private const int KindTrace = 7;
    private const int KindCount = KindTrace + TraceSubTypes;
    private const int ProtocolCount = 9;
    private const int L3L4MatchCount = 7;
    private const int MatchCount = L3L4MatchCount + 1 + 3;

    private static readonly string[] StatusText = BuildNumbers(0, 999);
    private static readonly string[] ProxyTypes = ["http", "kafka", "unknown"];
    private static readonly string[] L7Matches = ["l7/http", "l7/kafka", "l7/"];
    private static readonly string[] L7Rules = ["received", "forwarded", "denied", "parse_errors"];

    // Children for label sets derived from enums, found by index instead of hashing label strings on every flow.
    private readonly Counter?[] _flowsProcessedCache = new Counter?[KindCount * VerdictCount];
    private readonly Counter?[] _dropsCache = new Counter?[256 * ProtocolCount];
    private readonly Counter?[] _ciliumDropsCache = new Counter?[256 * 3];
    private readonly Counter?[] _policyVerdictsCache = new Counter?[3 * MatchCount * VerdictCount];
    private readonly Counter?[] _policyL7Cache = new Counter?[4 * 3];
    private static readonly string[] KafkaErrorText = BuildNumbers(-1, 127);

    private readonly CounterFamily _flowsProcessed;
    private readonly CounterFamily _drops;
    private readonly CounterFamily _httpRequests;
    private readonly CounterFamily _httpResponses;
    private readonly HistogramFamily _httpDuration;
    private readonly CounterFamily _kafkaRequests;
    private readonly HistogramFamily _kafkaDuration;
    private readonly CounterFamily _policyVerdicts;
    private readonly CounterFamily _lostEvents;
    private readonly CounterFamily _tcpFlags;
    private readonly CounterFamily _icmp;
    private readonly CounterFamily _policyL7;
    private readonly GaugeFamily _proxyRedirects;
    private readonly CounterFamily _ciliumDrops;
    private readonly GaugeFamily _mapPressure;
    private readonly GaugeFamily _bufferCapacity;
    private readonly GaugeFamily _bufferFlows;
    private readonly CounterFamily _flowsSeen;
    private readonly Lock _ringLock = new();
    private FlowRingStatistics _lastRing;

    /// <summary>Registers the metrics in <paramref name="registry"/>.</summary>
    public FlowMetrics(MetricRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _flowsProcessed = registry.Counter("hubble_flows_processed_total", "Total number of flows processed", "type", "subtype", "verdict");
        _drops = registry.Counter("hubble_drop_total", "Number of drops", "reason", "protocol");
        _httpRequests = registry.Counter("hubble_http_requests_total", "Count of HTTP requests", "method", "protocol", "reporter");
        _httpResponses = registry.Counter("hubble_http_responses_total", "Count of HTTP responses", "method", "status", "reporter");
        _httpDuration = registry.Histogram("hubble_http_request_duration_seconds", "Quantiles of HTTP request duration in seconds",
            DefaultDurationBuckets, "method", "reporter");
        _kafkaRequests = registry.Counter("hubble_kafka_requests_total", "Count of Kafka requests", "topic", "api_key", "error_code", "reporter");
        _kafkaDuration = registry.Histogram("hubble_kafka_request_duration_seconds", "Quantiles of Kafka request duration in seconds",
            DefaultDurationBuckets, "topic", "api_key", "reporter");
        _policyVerdicts = registry.Counter("hubble_policy_verdicts_total", "Total number of Cilium network policy verdicts", "direction", "match", "action");
        _lostEvents = registry.Counter("hubble_lost_events_total", "Number of lost events", "source");
        _tcpFlags = registry.Counter("hubble_tcp_flags_total", "TCP flag occurrences", "flag", "family");
        _icmp = registry.Counter("hubble_icmp_total", "Number of ICMP messages", "family", "type");
        _policyL7 = registry.Counter("cilium_policy_l7_total", "Number of total proxy requests handled", "rule", "proxy_type");
        _proxyRedirects = registry.Gauge("cilium_proxy_redirects", "Number of redirects installed for endpoints", "protocol");
        _ciliumDrops = registry.Counter("cilium_drop_count_total", "Total dropped packets, tagged by drop reason and ingress/egress direction", "reason", "direction");
        _mapPressure = registry.Gauge("cilium_bpf_map_pressure", "Fill percentage of map, tagged by map name", "map_name");
        _bufferCapacity = registry.Gauge("membrane_flow_buffer_capacity", "Flows the flow buffer holds (Hubble max_flows)");
        _bufferFlows = registry.Gauge("membrane_flow_buffer_flows", "Flows currently in the flow buffer (Hubble num_flows)");
        _flowsSeen = registry.Counter("membrane_flows_seen_total", "Flows written to the flow buffer (Hubble seen_flows)");
    }

    /// <summary>Updates the metrics a flow contributes to.</summary>
    public void Process(in Flow flow)
    {
        var verdictIndex = (uint)flow.Verdict < VerdictCount ? (int)flow.Verdict : 0;
        var isL7 = flow.EventType.Type == MonitorMessageType.AccessLog || (flow.EventType.Type == 0 && flow.L7 is not null);
        var kind = isL7 ? (flow.L7?.Http is not null ? KindHttp : flow.L7?.Kafka is not null ? KindKafka : KindL7Other) : EventKind(flow.EventType);
        if (kind < 0)
        {
            var (type, subtype) = EventTypeLabels(flow.EventType);
            _flowsProcessed.Labels(type, subtype, HubbleNames.Of(flow.Verdict) ?? "VERDICT_UNKNOWN").Inc();
        }
        else
        {
            (_flowsProcessedCache[(kind * VerdictCount) + verdictIndex] ??= FlowsProcessedChild(flow, isL7)).Inc();
        }

        if (flow.Verdict == Verdict.Dropped)
        {
            var protocol = ProtocolIndex(flow);
            (_dropsCache[(flow.DropReason.Code * ProtocolCount) + protocol] ??=
                _drops.Labels(flow.DropReason.HubbleName ?? StatusText[flow.DropReason.Code], FlowText.Protocol(flow))).Inc();
            if (!isL7)
            {
                var direction = DirectionIndex(flow.TrafficDirection);
                (_ciliumDropsCache[(flow.DropReason.Code * 3) + direction] ??=
                    _ciliumDrops.Labels(flow.DropReason.Text, Direction(flow.TrafficDirection))).Inc();
            }
        }

        if (flow.EventType.Type == MonitorMessageType.PolicyVerdict && flow.Source.Identity != 1)
        {
            var match = (uint)flow.PolicyMatchType < L3L4MatchCount ? (int)flow.PolicyMatchType : L3L4MatchCount;
            PolicyVerdict(flow, match, LowerMatch(flow.PolicyMatchType)).Inc();
        }

        if (flow.L7 is Layer7 l7)
        {
            ProcessL7(flow, l7);
        }
        else
        {
            ProcessL4(flow);
        }
    }

    /// <summary>Counts events lost before they became flows (<c>hubble_lost_events_total{source}</c>).</summary>
    public void RecordLostEvents(LostEventSource source, ulong count)
    {
        var name = source switch
        {
            LostEventSource.PerfEventRingBuffer => "perf_event_ring_buffer",
            LostEventSource.ObserverEventsQueue => "observer_events_queue",
            LostEventSource.HubbleRingBuffer => "hubble_ring_buffer",
            _ => "unknown",
        };
        _lostEvents.Labels(name).Add((long)Math.Min(count, long.MaxValue));
    }

    /// <summary>
    /// Brings the flow buffer metrics up to date from the ring's counters: capacity and occupancy gauges,
    /// <c>membrane_flows_seen_total</c>, and flows lost to readers or dropped by writers as
    /// <c>hubble_lost_events_total{source="hubble_ring_buffer"}</c>. Call it before each scrape.
    /// </summary>
    public void ObserveRing(FlowRingStatistics statistics)
    {
        lock (_ringLock)
        {
            _bufferCapacity.Labels().Set(statistics.Capacity);
            _bufferFlows.Labels().Set(statistics.NumFlows);
            _flowsSeen.Labels().Add(Math.Max(0, statistics.SeenFlows - _lastRing.SeenFlows));
            var lost = (statistics.LostToReaders + statistics.DroppedOnWrite) - (_lastRing.LostToReaders + _lastRing.DroppedOnWrite);
            if (lost > 0)
            {
                RecordLostEvents(LostEventSource.HubbleRingBuffer, (ulong)lost);
            }

            _lastRing = statistics;
        }
    }

    /// <summary>Sets <c>cilium_proxy_redirects{protocol}</c> (the agent counts redirects per protocol: <c>http</c>, <c>kafka</c>).</summary>
    public void SetProxyRedirects(string protocol, long redirects) => _proxyRedirects.Labels(protocol).Set(redirects);

    /// <summary>Sets <c>cilium_bpf_map_pressure{map_name}</c>: entries divided by max entries, 0 to 1.</summary>
    public void SetBpfMapPressure(string mapName, double pressure) => _mapPressure.Labels(mapName).Set(pressure);

    private void ProcessL7(in Flow flow, in Layer7 l7)
    {
        var reporter = Reporter(flow.TrafficDirection);
        if (l7.Http is HttpInfo http)
        {
            var method = http.Method ?? "";
            if (l7.Type == L7FlowType.Request)
            {
                _httpRequests.Labels(method, http.Protocol ?? "", reporter).Inc();
            }
            else if (l7.Type == L7FlowType.Response)
            {
                _httpResponses.Labels(method, StatusText[Math.Min(http.Code, 999u)], reporter).Inc();
                _httpDuration.Labels(method, reporter).Observe(l7.LatencyNs / 1e9);
            }
        }
        else if (l7.Kafka is KafkaInfo kafka)
        {
            var apiKey = HubbleNames.KafkaApiKey(kafka.ApiKey);
            var topic = kafka.Topic ?? "";
            if (l7.Type == L7FlowType.Request)
            {
                var error = kafka.ErrorCode is >= -1 and <= 127 ? KafkaErrorText[kafka.ErrorCode + 1] : kafka.ErrorCode.ToString(CultureInfo.InvariantCulture);
                _kafkaRequests.Labels(topic, apiKey, error, reporter).Inc();
            }
            else if (l7.Type == L7FlowType.Response && l7.LatencyNs > 0)
            {
                _kafkaDuration.Labels(topic, apiKey, reporter).Observe(l7.LatencyNs / 1e9);
            }
        }

        if (l7.Type != L7FlowType.Request)
        {
            return;
        }

        var proxy = l7.Http is not null ? 0 : l7.Kafka is not null ? 1 : 2;
        var proxyType = ProxyTypes[proxy];
        (_policyL7Cache[proxy] ??= _policyL7.Labels("received", proxyType)).Inc();
        var outcome = flow.Verdict switch
        {
            Verdict.Forwarded => 1,
            Verdict.Dropped => 2,
            Verdict.Error => 3,
            _ => 0,
        };
        if (outcome != 0)
        {
            (_policyL7Cache[(outcome * 3) + proxy] ??= _policyL7.Labels(L7Rules[outcome], proxyType)).Inc();
        }

        PolicyVerdict(flow, L3L4MatchCount + 1 + proxy, L7Matches[proxy]).Inc();
    }

    private void ProcessL4(in Flow flow)
    {
        var family = flow.IP.Version == IPVersion.IPv6 ? "IPv6" : "IPv4";
        if (flow.L4.Protocol == L4Protocol.Tcp)
        {
            var flags = flow.L4.TcpFlags;
            var flag = (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack) ? "SYN-ACK"
                : (flags & TcpFlags.Syn) != 0 ? "SYN"
                : (flags & TcpFlags.Fin) != 0 ? "FIN"
                : (flags & TcpFlags.Rst) != 0 ? "RST"
                : null;
            if (flag is not null)
            {
                _tcpFlags.Labels(flag, family).Inc();
            }
        }
        else if (flow.L4.Protocol is L4Protocol.IcmpV4 or L4Protocol.IcmpV6)
        {
            _icmp.Labels(family, IcmpTypeName(flow.L4.Protocol == L4Protocol.IcmpV6, flow.L4.IcmpType)).Inc();
        }
    }

    private Counter PolicyVerdict(in Flow flow, int match, string matchText)
    {
        var index = (((DirectionIndex(flow.TrafficDirection) * MatchCount) + match) * VerdictCount)
            + ((uint)flow.Verdict < VerdictCount ? (int)flow.Verdict : 0);
        return _policyVerdictsCache[index] ??=
            _policyVerdicts.Labels(LowerDirection(flow.TrafficDirection), matchText, LowerVerdict(flow.Verdict));
    }

    private Counter FlowsProcessedChild(in Flow flow, bool isL7)
    {
        var (type, subtype) = isL7 ? ("L7", L7Subtype(flow)) : EventTypeLabels(flow.EventType);
        return _flowsProcessed.Labels(type, subtype, HubbleNames.Of(flow.Verdict) ?? "VERDICT_UNKNOWN");
    }

    // Index of the (type, subtype) pair of hubble_flows_processed_total, or -1 for types without a cache slot.
    private static int EventKind(CiliumEventType eventType) => eventType.Type switch
    {
        MonitorMessageType.Drop => KindDrop,
        MonitorMessageType.Capture => KindCapture,
        MonitorMessageType.PolicyVerdict => KindPolicyVerdict,
        MonitorMessageType.Trace => eventType.SubType is >= 0 and < TraceSubTypes ? KindTrace + eventType.SubType : KindTraceOther,
        _ => -1,
    };

    private static int ProtocolIndex(in Flow flow)
    {
        if (flow.L7 is Layer7 l7)
        {
            return l7.Http is not null ? 6 : l7.Kafka is not null ? 7 : 8;
        }

        return (int)flow.L4.Protocol;
    }

    private static int DirectionIndex(FlowTrafficDirection direction) => (uint)direction < 3 ? (int)direction : 0;

    private static string L7Subtype(in Flow flow) =>
        flow.L7?.Http is not null ? "HTTP" : flow.L7?.Kafka is not null ? "Kafka" : "";

    private static (string Type, string Subtype) EventTypeLabels(CiliumEventType eventType) => eventType.Type switch
    {
        MonitorMessageType.Drop => ("Drop", ""),
        MonitorMessageType.Capture => ("Capture", ""),
        MonitorMessageType.Trace => ("Trace", MonitorMessageType.TraceSubTypeName(eventType.SubType) ?? ""),
        MonitorMessageType.PolicyVerdict => ("PolicyVerdict", ""),
        _ => ("Unknown", eventType.Type is >= 0 and <= 999 ? StatusText[eventType.Type] : eventType.Type.ToString(CultureInfo.InvariantCulture)),
    };

    private static string Reporter(FlowTrafficDirection direction) => direction switch
    {
        FlowTrafficDirection.Egress => "client",
        FlowTrafficDirection.Ingress => "server",
        _ => "unknown",
    };

    private static string Direction(FlowTrafficDirection direction) => direction switch
    {
        FlowTrafficDirection.Ingress => "INGRESS",
        FlowTrafficDirection.Egress => "EGRESS",
        _ => "UNKNOWN",
    };

    private static string LowerDirection(FlowTrafficDirection direction) => direction switch
    {
        FlowTrafficDirection.Ingress => "ingress",
        FlowTrafficDirection.Egress => "egress",
        _ => "traffic_direction_unknown",
    };

    private static string LowerMatch(PolicyMatchType match) => match switch
    {
        PolicyMatchType.None => "none",
        PolicyMatchType.L3Only => "l3-only",
        PolicyMatchType.L3L4 => "l3-l4",
        PolicyMatchType.L4Only => "l4-only",
        PolicyMatchType.All => "all",
        PolicyMatchType.L3Proto => "l3-proto",
        PolicyMatchType.ProtoOnly => "proto-only",
        _ => "unknown",
    };

    private static string LowerVerdict(Verdict verdict) => verdict switch
    {
        Verdict.Forwarded => "forwarded",
        Verdict.Dropped => "dropped",
        Verdict.Error => "error",
        Verdict.Audit => "audit",
        Verdict.Redirected => "redirected",
        Verdict.Traced => "traced",
        Verdict.Translated => "translated",
        _ => "verdict_unknown",
    };

    private static string IcmpTypeName(bool v6, byte type) => FlowText.IcmpTypeName(v6, type) ?? StatusText[type];

    private static string[] BuildNumbers(int from, int to) =>
        [.. Enumerable.Range(from, to - from + 1).Select(i => i.ToString(CultureInfo.InvariantCulture))];
}
