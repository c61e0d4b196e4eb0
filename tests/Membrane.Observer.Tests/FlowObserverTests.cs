using Membrane.Observer.Filters;
using Membrane.Observer.Flows;
using Membrane.Observer.Tests.Metrics;
using Membrane.Observer.Tests.Printers;

namespace Membrane.Observer.Tests;

public sealed class FlowObserverTests
{
    [Fact]
    public async Task Published_flows_reach_readers_and_metrics()
    {
        var observer = new FlowObserver(capacity: 64);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var spec = FlowFilterSpec.Parse(["--verdict", "DROPPED", "--follow", "--last", "1"]);
        observer.Publish(FlowSamples.AllowedGet);
        observer.Publish(FlowSamples.DeniedDelete);
        await using var stream = observer.ObserveAsync(spec, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(FlowSamples.DeniedDelete.Uuid, stream.Current.Flow.Uuid);

        var next = stream.MoveNextAsync().AsTask();
        observer.Publish(FlowSamples.GetResponse);
        observer.Publish(FlowSamples.WorldDropped);
        Assert.True(await next);
        Assert.Equal(FlowSamples.WorldDropped.Uuid, stream.Current.Flow.Uuid);

        var text = new StringWriter { NewLine = "\n" };
        observer.WriteMetrics(text);
        var parsed = ExpositionParser.Parse(text.ToString());
        Assert.Equal(4, parsed.Value("membrane_flows_seen_total"));
        Assert.Equal(4, parsed.Value("membrane_flow_buffer_flows"));
        Assert.Equal(64, parsed.Value("membrane_flow_buffer_capacity"));
        Assert.Equal(1, parsed.Value("hubble_drop_total", ("reason", "POLICY_DENIED"), ("protocol", "TCP")));
    }

    [Fact]
    public void Publishing_allocates_nothing()
    {
        var observer = new FlowObserver();
        var flows = FlowSamples.All.Where(r => r.Kind == FlowResponseKind.Flow).Select(r => r.Flow).ToArray();
        foreach (var f in flows)
        {
            observer.Publish(f);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            foreach (ref readonly var f in flows.AsSpan())
            {
                observer.Publish(f);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
