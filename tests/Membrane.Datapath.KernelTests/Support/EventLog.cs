using System.Collections.Concurrent;
using System.Net;
using Membrane.Datapath.Events;

namespace Membrane.Datapath.KernelTests.Support;

/// <summary>Collects the datapath's events for assertions.</summary>
internal sealed class EventLog : IDisposable
{
    private readonly ConcurrentQueue<DatapathEvent> _events = new();
    private readonly IDisposable _subscription;

    public EventLog(EbpfDatapath datapath) => _subscription = datapath.SubscribeEvents(_events.Enqueue);

    public IReadOnlyList<DatapathEvent> All => [.. _events];

    public IEnumerable<DatapathEvent> Drops(IPAddress source, IPAddress destination, byte protocol) =>
        _events.Where(e => e.Type == DatapathEventType.Drop && e.Source.Equals(source) && e.Destination.Equals(destination) && e.Protocol == protocol);

    /// <summary>Waits until an event matching <paramref name="match"/> arrives (or the timeout passes).</summary>
    public async Task<DatapathEvent?> WaitFor(Func<DatapathEvent, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var found = _events.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(20);
        }

        return _events.FirstOrDefault(match);
    }

    /// <summary>Writes every event, one line each (test diagnostics).</summary>
    public void WriteTo(Xunit.Abstractions.ITestOutputHelper output)
    {
        foreach (var e in _events)
        {
            output.WriteLine(Format(e));
        }
    }

    public static string Format(DatapathEvent e) =>
        $"{e.Time:HH:mm:ss.fff} {e.Type,-13} {(e.Type == DatapathEventType.Trace ? $"{e.ObservationPoint}/{e.TraceReason}" : e.Type == DatapathEventType.PolicyVerdict ? $"{e.Verdict} {e.DropReason}" : e.DropReason.ToString()),-24} " +
        $"{e.Direction} ep{e.EndpointId} {e.Source}:{e.SourcePort} ({e.SourceIdentity}) -> {e.Destination}:{e.DestinationPort} ({e.DestinationIdentity}) " +
        $"proto {e.Protocol} [{e.TcpFlags}] {e.InterfaceName}{(e.IsReply ? " reply" : "")}{(e.FromProxy ? " from-proxy" : "")}{(e.Revalidated ? " revalidated" : "")}";

    public void Dispose() => _subscription.Dispose();
}

/// <summary>Runs an action on dispose.</summary>
internal sealed class Disposable(Action action) : IDisposable
{
    public void Dispose() => action();
}
