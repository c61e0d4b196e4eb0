namespace Membrane.Observer.Flows;

/// <summary>Decides whether a flow is wanted (a compiled filter); takes the flow by reference so nothing is copied.</summary>
public delegate bool FlowPredicate(in Flow flow);

/// <summary>
/// What a reader of a <see cref="FlowRing"/> wants. With none of <see cref="Last"/>, <see cref="SinceUnixNanos"/> and
/// <see cref="Follow"/>, every buffered flow is returned; <see cref="Follow"/> alone returns only new flows.
/// </summary>
public sealed class FlowReadOptions
{
    /// <summary>Return at most the last N buffered flows that pass <see cref="Filter"/> (and <see cref="SinceUnixNanos"/>).</summary>
    public int? Last { get; init; }

    /// <summary>Return buffered flows at or after this time (Unix epoch nanoseconds).</summary>
    public long? SinceUnixNanos { get; init; }

    /// <summary>After the buffered flows, wait for new ones until cancelled.</summary>
    public bool Follow { get; init; }

    /// <summary>Only flows this accepts are returned (and counted by <see cref="Last"/>); null accepts all.</summary>
    public FlowPredicate? Filter { get; init; }

    /// <summary>How long a follower waits for a flow whose writer claimed a slot but has not published it before
    /// reporting it lost (a writer never blocks, so this only elapses when a writer was descheduled or gave up).</summary>
    public TimeSpan PendingGrace { get; init; } = TimeSpan.FromSeconds(1);
}
