namespace Membrane.Observer.Flows;

/// <summary>Hubble's <c>observer.LostEvent</c>: how many events a reader did not get, and where they were lost.</summary>
/// <param name="Source">Where the events were lost.</param>
/// <param name="NumEventsLost">How many.</param>
/// <param name="Cpu">The CPU whose buffer lost them, or null when not per CPU.</param>
public readonly record struct LostEvents(LostEventSource Source, ulong NumEventsLost, int? Cpu = null);

/// <summary>What a <see cref="FlowResponse"/> carries.</summary>
public enum FlowResponseKind
{
    /// <summary>A flow.</summary>
    Flow,

    /// <summary>A lost-events notification.</summary>
    LostEvents,
}

/// <summary>
/// One item of a flow stream: Hubble's <c>observer.GetFlowsResponse</c> (oneof <c>flow</c> | <c>lost_events</c>, plus
/// <c>node_name</c> and <c>time</c>). Readers of a <see cref="FlowRing"/> get these, in order, and printers write them.
/// </summary>
public readonly struct FlowResponse
{
    /// <summary>A response carrying a flow; node name and time come from the flow.</summary>
    public FlowResponse(in Flow flow)
    {
        Kind = FlowResponseKind.Flow;
        Flow = flow;
        NodeName = flow.NodeName;
        TimeUnixNanos = flow.TimeUnixNanos;
    }

    /// <summary>A response carrying a lost-events notification.</summary>
    public FlowResponse(LostEvents lost, string? nodeName, long timeUnixNanos)
    {
        Kind = FlowResponseKind.LostEvents;
        Lost = lost;
        NodeName = nodeName;
        TimeUnixNanos = timeUnixNanos;
    }

    /// <summary>Which member is set.</summary>
    public FlowResponseKind Kind { get; }

    /// <summary>The flow (when <see cref="Kind"/> is <see cref="FlowResponseKind.Flow"/>).</summary>
    public Flow Flow { get; }

    /// <summary>The lost-events notification (when <see cref="Kind"/> is <see cref="FlowResponseKind.LostEvents"/>).</summary>
    public LostEvents Lost { get; }

    /// <summary>Hubble <c>node_name</c>.</summary>
    public string? NodeName { get; }

    /// <summary>Hubble <c>time</c>, Unix epoch nanoseconds.</summary>
    public long TimeUnixNanos { get; }
}
