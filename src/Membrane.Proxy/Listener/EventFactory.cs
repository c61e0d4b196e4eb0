using Membrane.Policy.Model;

namespace Membrane.Proxy.Listener;

/// <summary>Builds the connection-level <see cref="L7Event"/>s and reads the event clock.</summary>
internal static class EventFactory
{
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>Wall-clock now in Unix epoch nanoseconds.</summary>
    public static long NowUnixNs() => (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100;

    /// <summary>A connection closed because L3/L4 policy denies it.</summary>
    public static L7Event ConnectionDenied(ConnectionInfo info, ConnectionPolicy policy) => new()
    {
        Kind = L7EventKind.ConnectionDenied,
        TimestampUnixNs = NowUnixNs(),
        Connection = info,
        Policy = policy,
        Verdict = L7Verdict.Denied,
        DecidedBy = policy.L4DecidedBy.Count > 0 ? policy.L4DecidedBy[0] : null,
        DeniedDirection = null,
        Detail = "connection denied by L3/L4 policy",
        GrpcStatus = -1,
    };

    /// <summary>A connection or request rejected as malformed, looping, or unresolvable.</summary>
    public static L7Event ProtocolError(ConnectionInfo info, ConnectionPolicy? policy, string detail, string? protocol = null) => new()
    {
        Kind = L7EventKind.ProtocolError,
        TimestampUnixNs = NowUnixNs(),
        Connection = info,
        Policy = policy,
        Verdict = L7Verdict.Error,
        Detail = detail,
        HttpProtocol = protocol,
        GrpcStatus = -1,
    };

    /// <summary>The first policy of a rule set that denied a request, for attribution.</summary>
    public static PolicyRef? FirstPolicy(Membrane.Policy.L7.Http.HttpRuleSet? set) =>
        set is null || set.Policies.IsDefaultOrEmpty ? null : set.Policies[0];
}
