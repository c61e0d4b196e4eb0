using System.Collections.Immutable;
using System.Threading.Channels;
using Membrane.Datapath.Interop;

namespace Membrane.Datapath.Events;

/// <summary>
/// Drains the kernel's event ring buffer on a dedicated thread and hands each decoded event to the subscribers
/// (called on that thread; they must not block) and to a bounded channel. Nothing here ever slows the datapath:
/// when the ring buffer is full the kernel counts the lost event (per-CPU counter); when the channel is full the
/// event is counted in <see cref="DroppedInUserSpace"/>.
/// </summary>
internal sealed class DatapathEventReader : IRingBufferSink, IDisposable
{
    private const int PollTimeoutMs = 100;

    private readonly RingBufferReader _ring;
    private readonly EventDecoder _decoder;
    private readonly Channel<DatapathEvent> _channel;
    private readonly Thread _thread;
    private ImmutableArray<Action<DatapathEvent>> _subscribers = ImmutableArray<Action<DatapathEvent>>.Empty;
    private volatile bool _stopping;
    private long _delivered;
    private long _droppedInUserSpace;
    private long _malformed;
    private long _subscriberFailures;

    public DatapathEventReader(BpfMap events, EventDecoder decoder, int channelCapacity)
    {
        _decoder = decoder;
        _channel = Channel.CreateBounded<DatapathEvent>(
            new BoundedChannelOptions(channelCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleWriter = true },
            _ => Interlocked.Increment(ref _droppedInUserSpace));
        _ring = new RingBufferReader(events, this);
        _thread = new Thread(Run) { IsBackground = true, Name = "membrane-datapath-events" };
        _thread.Start();
    }

    public ChannelReader<DatapathEvent> Reader => _channel.Reader;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long DroppedInUserSpace => Interlocked.Read(ref _droppedInUserSpace);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long SubscriberFailures => Interlocked.Read(ref _subscriberFailures);

    public IDisposable Subscribe(Action<DatapathEvent> handler)
    {
        ImmutableInterlocked.Update(ref _subscribers, s => s.Add(handler));
        return new Subscription(this, handler);
    }

    public void OnRecord(ReadOnlySpan<byte> record)
    {
        if (!EventRecord.TryRead(record, out var native))
        {
            Interlocked.Increment(ref _malformed);
            return;
        }

        var decoded = _decoder.Decode(native);
        Interlocked.Increment(ref _delivered);
        foreach (var subscriber in _subscribers)
        {
            try
            {
                subscriber(decoded);
            }
            catch
            {
                Interlocked.Increment(ref _subscriberFailures);
            }
        }

        _channel.Writer.TryWrite(decoded);
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        _ring.Dispose();
        _channel.Writer.TryComplete();
    }

    private void Run()
    {
        var polls = 0;
        while (!_stopping)
        {
            var rc = _ring.Poll(PollTimeoutMs);
            if (rc < 0 && rc != -(int)Errno.EINTR)
            {
                Thread.Sleep(PollTimeoutMs);
            }

            if (++polls % 600 == 0)
            {
                _decoder.Recalibrate();
            }
        }
    }

    private sealed class Subscription(DatapathEventReader reader, Action<DatapathEvent> handler) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref reader._subscribers, s => s.Remove(handler));
    }
}
