using System.Collections.Concurrent;

namespace Membrane.Proxy.Listener;

/// <summary>Something with a deadline the watchdog enforces.</summary>
internal interface IWatchedUpstream
{
    /// <summary>Environment.TickCount64 after which the pending upstream operation is abandoned; 0 when idle.</summary>
    long DeadlineTicks { get; }

    /// <summary>Called once the deadline passed: abort the upstream connection.</summary>
    void OnDeadline();
}

/// <summary>
/// Enforces upstream idle deadlines with one timer per proxy instead of a timer or cancellation registration per
/// request (the request path only writes a deadline field: nothing is allocated), as Kestrel's heartbeat does.
/// </summary>
internal sealed class UpstreamWatchdog : IDisposable
{
    private readonly ConcurrentDictionary<IWatchedUpstream, byte> _watched = new();
    private readonly Timer _timer;

    public UpstreamWatchdog(TimeSpan period) => _timer = new Timer(_ => Tick(), null, period, period);

    public void Add(IWatchedUpstream upstream) => _watched.TryAdd(upstream, 0);

    public void Remove(IWatchedUpstream upstream) => _watched.TryRemove(upstream, out _);

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        var now = Environment.TickCount64;
        foreach (var (u, _) in _watched)
        {
            var d = u.DeadlineTicks;
            if (d != 0 && now > d)
            {
                u.OnDeadline();
            }
        }
    }
}
