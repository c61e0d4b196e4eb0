namespace Membrane.Observer.Flows;

/// <summary>
/// Cilium's monitor message types (<c>pkg/monitor/api/types.go</c>), carried in <see cref="CiliumEventType.Type"/>,
/// with the names <c>cilium monitor --type</c> and <c>hubble observe --type</c> accept, and the trace sub-types
/// (observation points in Cilium's numbering).
/// </summary>
public static class MonitorMessageType
{
    /// <summary>A packet drop.</summary>
    public const int Drop = 1;

    /// <summary>A datapath debug message.</summary>
    public const int Debug = 2;

    /// <summary>A debug packet capture.</summary>
    public const int Capture = 3;

    /// <summary>A packet seen at a trace (observation) point.</summary>
    public const int Trace = 4;

    /// <summary>A policy verdict (allow, deny, audit, redirect) at the policy enforcement point.</summary>
    public const int PolicyVerdict = 5;

    /// <summary>A socket-level trace.</summary>
    public const int TraceSock = 7;

    /// <summary>An L7 access-log record from the proxy (<c>l7</c>).</summary>
    public const int AccessLog = 129;

    /// <summary>An agent notification.</summary>
    public const int Agent = 130;

    private static readonly (string Name, int Type)[] Names =
    [
        ("drop", Drop), ("debug", Debug), ("capture", Capture), ("trace", Trace), ("policy-verdict", PolicyVerdict),
        ("trace-sock", TraceSock), ("l7", AccessLog), ("agent", Agent),
    ];

    // Cilium's TraceToLxc..TraceToCrypto (monitor/api/types.go); the index is the monitor sub-type.
    private static readonly (string Name, TraceObservationPoint Point)[] TracePoints =
    [
        ("to-endpoint", TraceObservationPoint.ToEndpoint), ("to-proxy", TraceObservationPoint.ToProxy),
        ("to-host", TraceObservationPoint.ToHost), ("to-stack", TraceObservationPoint.ToStack),
        ("to-overlay", TraceObservationPoint.ToOverlay), ("from-endpoint", TraceObservationPoint.FromEndpoint),
        ("from-proxy", TraceObservationPoint.FromProxy), ("from-host", TraceObservationPoint.FromHost),
        ("from-stack", TraceObservationPoint.FromStack), ("from-overlay", TraceObservationPoint.FromOverlay),
        ("from-network", TraceObservationPoint.FromNetwork), ("to-network", TraceObservationPoint.ToNetwork),
        ("from-crypto", TraceObservationPoint.FromCrypto), ("to-crypto", TraceObservationPoint.ToCrypto),
    ];

    /// <summary>The CLI name of a message type (<c>drop</c>, <c>trace</c>, <c>policy-verdict</c>, <c>l7</c>, ...), or null.</summary>
    public static string? NameOf(int type)
    {
        foreach (var (name, t) in Names)
        {
            if (t == type)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>Looks up a message type by its CLI name (case-sensitive, as Cilium).</summary>
    public static bool TryParse(string name, out int type)
    {
        foreach (var (n, t) in Names)
        {
            if (n == name)
            {
                type = t;
                return true;
            }
        }

        type = 0;
        return false;
    }

    /// <summary>The name of a trace sub-type (<c>to-endpoint</c>, <c>from-endpoint</c>, ...), or null.</summary>
    public static string? TraceSubTypeName(int subType) =>
        subType >= 0 && subType < TracePoints.Length ? TracePoints[subType].Name : null;

    /// <summary>Looks up a trace sub-type by name.</summary>
    public static bool TryParseTraceSubType(string name, out int subType)
    {
        for (var i = 0; i < TracePoints.Length; i++)
        {
            if (TracePoints[i].Name == name)
            {
                subType = i;
                return true;
            }
        }

        subType = 0;
        return false;
    }

    /// <summary>Hubble's observation point for a trace event's monitor sub-type.</summary>
    public static TraceObservationPoint TraceObservationPointFromSubType(int subType) =>
        subType >= 0 && subType < TracePoints.Length ? TracePoints[subType].Point : TraceObservationPoint.Unknown;

    /// <summary>The monitor sub-type of an observation point, or -1 if it has none.</summary>
    public static int SubTypeFromTraceObservationPoint(TraceObservationPoint point)
    {
        for (var i = 0; i < TracePoints.Length; i++)
        {
            if (TracePoints[i].Point == point)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The names of every trace sub-type, in sub-type order.</summary>
    public static IEnumerable<string> TraceSubTypeNames => TracePoints.Select(p => p.Name);

    /// <summary>The names of every message type.</summary>
    public static IEnumerable<string> TypeNames => Names.Select(n => n.Name);
}
