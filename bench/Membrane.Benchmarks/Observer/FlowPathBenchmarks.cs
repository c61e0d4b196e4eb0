using System.Net;
using BenchmarkDotNet.Attributes;
using Membrane.Observer;
using Membrane.Observer.Filters;
using Membrane.Observer.Flows;
using Membrane.Observer.Metrics;
using Membrane.Observer.Printers;
using Membrane.Policy.Model;

namespace Membrane.Benchmarks.Observer;

/// <summary>
/// The writer path of the flow buffer and what readers do per flow. Baseline: copying the same flow into a plain
/// array slot with no synchronisation, so the ring's cost reads as a ratio. Expect 0 B allocated for the write,
/// metrics and filter rows.
/// </summary>
[MemoryDiagnoser]
public class FlowPathBenchmarks
{
    private readonly Flow[] _plain = new Flow[4096];
    private FlowRing _ring = null!;
    private FlowMetrics _metrics = null!;
    private FlowObserver _observer = null!;
    private FlowFilterSpec _filter = null!;
    private Flow _flow;
    private int _next;

    /// <summary>Builds a denied HTTP request flow as the proxy adapter would.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _ring = new FlowRing(4096);
        _metrics = new FlowMetrics(new MetricRegistry());
        _filter = FlowFilterSpec.Parse(["--from-pod", "frontend", "--verdict", "DROPPED", "--http-path", "/api/v1/users"]);
        var policy = new FlowPolicy(new PolicyRef("CiliumNetworkPolicy", "default", "user-service-api-policy"), 7, defaultDeny: true);
        _flow = new Flow
        {
            TimeUnixNanos = 1,
            Uuid = Guid.NewGuid(),
            Verdict = Verdict.Dropped,
            DropReason = DropReason.PolicyDenied,
            IP = new FlowIP { Source = IPAddress.Parse("10.0.1.12"), Destination = IPAddress.Parse("10.0.1.55") },
            L4 = Layer4.Tcp(49876, 80),
            Source = new FlowEndpoint { Id = 1120, Identity = 1234, Namespace = "default", PodName = "frontend-xyz-1", Labels = LabelSet.Parse("k8s:app=frontend") },
            Destination = new FlowEndpoint { Id = 1121, Identity = 4321, Namespace = "default", PodName = "user-service-abc-2", Labels = LabelSet.Parse("k8s:app=users") },
            Type = FlowType.L7,
            NodeName = "node",
            L7 = new Layer7 { Type = L7FlowType.Request, Http = new HttpInfo { Method = "DELETE", Url = "http://user-service/api/v1/users/123", Protocol = "HTTP/1.1" } },
            IsReply = false,
            EventType = new CiliumEventType(MonitorMessageType.AccessLog, 0),
            TrafficDirection = FlowTrafficDirection.Ingress,
            IngressDeniedBy = [policy],
        };
        _metrics.Process(_flow);
        _observer = new FlowObserver();
        _observer.Publish(_flow);
    }

    /// <summary>Baseline: an unsynchronised copy into an array.</summary>
    [Benchmark(Baseline = true)]
    public void CopyIntoArray() => _plain[_next++ & 4095] = _flow;

    /// <summary>The ring's writer path (claim, compare-and-swap, copy, publish).</summary>
    [Benchmark]
    public bool RingWrite() => _ring.TryWrite(_flow);

    /// <summary>Updating every flow metric for the flow.</summary>
    [Benchmark]
    public void MetricsProcess() => _metrics.Process(_flow);

    /// <summary>What a producer calls: ring write plus metrics.</summary>
    [Benchmark]
    public void ObserverPublish() => _observer.Publish(_flow);

    /// <summary>Evaluating a three-field filter.</summary>
    [Benchmark]
    public bool FilterMatch() => _filter.Matches(_flow);

    /// <summary>Serialising the flow as Hubble JSON (reader side; allocates the line).</summary>
    [Benchmark]
    public string HubbleJsonLine() => HubbleJson.Serialize(new FlowResponse(_flow));
}
