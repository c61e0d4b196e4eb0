using Membrane.Observer.Filters;
using Membrane.Observer.Flows;
using Membrane.Observer.Metrics;

namespace Membrane.Observer;

/// <summary>
/// The Observer as the agent holds it: the flow buffer, the metric registry and the flow metrics, behind one
/// <see cref="Publish"/> call for producers (proxy and datapath adapters) and the reads the API serves.
/// </summary>
public sealed class FlowObserver
{
    /// <summary>Hubble's default flow buffer size.</summary>
    public const int DefaultCapacity = 4095;

    /// <summary>Creates the buffer, registry and metrics.</summary>
    /// <param name="capacity">Flows the buffer holds.</param>
    /// <param name="registry">Registry to add the flow metrics to; a new one by default.</param>
    /// <param name="timeProvider">Clock for stamping flows; the system clock by default.</param>
    public FlowObserver(int capacity = DefaultCapacity, MetricRegistry? registry = null, TimeProvider? timeProvider = null)
    {
        Ring = new FlowRing(capacity, timeProvider);
        Registry = registry ?? new MetricRegistry();
        Metrics = new FlowMetrics(Registry);
    }

    /// <summary>The flow buffer.</summary>
    public FlowRing Ring { get; }

    /// <summary>The metric registry served on <c>/metrics</c>.</summary>
    public MetricRegistry Registry { get; }

    /// <summary>The flow metrics.</summary>
    public FlowMetrics Metrics { get; }

    /// <summary>
    /// Records a flow: writes it to the buffer and updates the metrics. Never waits for readers and allocates nothing
    /// (metrics take a short lock the first time a label set appears). Safe from any thread.
    /// </summary>
    public void Publish(in Flow flow)
    {
        Ring.TryWrite(flow);
        Metrics.Process(flow);
    }

    /// <summary>Streams the flows a parsed <c>observe</c> request asks for (see <see cref="FlowRing.ReadAsync"/>).</summary>
    public IAsyncEnumerable<FlowResponse> ObserveAsync(FlowFilterSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Ring.ReadAsync(spec.ToReadOptions(), cancellationToken);
    }

    /// <summary>Writes the Prometheus exposition, after bringing the flow buffer gauges up to date.</summary>
    public void WriteMetrics(TextWriter output)
    {
        Metrics.ObserveRing(Ring.Statistics);
        Registry.WriteTo(output);
    }
}
