using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

/// <summary>
/// --alloc-sample: samples the runtime's GCAllocationTick events (one per ~100 KB allocated) by type name, to see
/// what the proxy allocates per request (proxy-design-experiment §3 used the same method).
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    public string Top(int count) => string.Join("; ", _bytes.OrderByDescending(kv => kv.Value).Take(count).Select(kv => $"{kv.Key}={kv.Value / 1024} KB"));

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1 /* GC */);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName != "GCAllocationTick_V4" && e.EventName != "GCAllocationTick_V3" && e.EventName != "GCAllocationTick_V2")
        {
            return;
        }

        var type = e.PayloadNames?.IndexOf("TypeName") is >= 0 and var i ? e.Payload![i] as string ?? "?" : "?";
        var amount = e.PayloadNames?.IndexOf("AllocationAmount64") is >= 0 and var j ? Convert.ToInt64(e.Payload![j], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}
