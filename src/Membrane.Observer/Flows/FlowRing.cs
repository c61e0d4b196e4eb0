using System.Runtime.CompilerServices;

namespace Membrane.Observer.Flows;

/// <summary>
/// A bounded ring of the last N flows (Hubble's flow buffer). Writers are the proxy's socket threads (inline
/// completions) and the datapath's event reader: <see cref="TryWrite"/> never blocks, never waits for a reader, and
/// allocates nothing; it copies the flow into a preallocated slot. Readers take the last N flows, the flows since a
/// time, and follow new flows asynchronously; a follower that falls behind is told how many flows it lost
/// (Hubble's <c>lost_events</c> with source <c>HUBBLE_RING_BUFFER</c>) before the next flow it gets.
/// </summary>
/// <remarks>
/// <para>Each slot has a version word: <c>(position + 1) &lt;&lt; 1</c>, with the low bit set while a writer copies.
/// A writer claims a position with one atomic increment, takes the slot with a compare-and-swap and publishes with a
/// release store. A reader validates the version before and after copying a slot (a sequence lock), so a slot
/// overwritten during the copy is detected and counted as lost, never returned torn.</para>
/// <para>If the ring laps a writer still copying into a slot (the ring wrapped completely during one copy), the later
/// writer drops its flow instead of waiting; <see cref="FlowRingStatistics.DroppedOnWrite"/> counts these.</para>
/// </remarks>
public sealed class FlowRing
{
    /// <summary>Largest accepted capacity.</summary>
    public const int MaxCapacity = 1 << 20;

    private readonly Slot[] _slots;
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private readonly ulong _uuidPrefix;
    private long _claimed;
    private long _published;
    private long _droppedOnWrite;
    private long _lostToReaders;
    private TaskCompletionSource? _signal;

    /// <summary>Creates a ring holding the last <paramref name="capacity"/> flows.</summary>
    /// <param name="capacity">Number of slots, 1 to <see cref="MaxCapacity"/> (Hubble's default is 4095).</param>
    /// <param name="timeProvider">Clock for stamping flows written without a time; the system clock by default.</param>
    public FlowRing(int capacity, TimeProvider? timeProvider = null)
    {
        if (capacity is < 1 or > MaxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"flow buffer capacity must be between 1 and {MaxCapacity}");
        }

        _capacity = capacity;
        _slots = new Slot[capacity];
        _time = timeProvider ?? TimeProvider.System;
        Span<byte> prefix = stackalloc byte[8];
        System.Security.Cryptography.RandomNumberGenerator.Fill(prefix);
        _uuidPrefix = BitConverter.ToUInt64(prefix);
    }

    /// <summary>Number of slots.</summary>
    public int Capacity => _capacity;

    /// <summary>Positions claimed so far: the position the next written flow gets.</summary>
    public long WritePosition => Volatile.Read(ref _claimed);

    /// <summary>Counters (Hubble's <c>ServerStatus</c>: num_flows, max_flows, seen_flows; plus losses).</summary>
    public FlowRingStatistics Statistics
    {
        get
        {
            var published = Volatile.Read(ref _published);
            return new FlowRingStatistics(
                Capacity: _capacity,
                NumFlows: Math.Min(published, _capacity),
                SeenFlows: published,
                DroppedOnWrite: Volatile.Read(ref _droppedOnWrite),
                LostToReaders: Volatile.Read(ref _lostToReaders));
        }
    }

    /// <summary>
    /// Copies a flow into the ring, overwriting the oldest. Never blocks and allocates nothing. A flow without a time
    /// or uuid gets one. Returns false only when the flow was dropped because a slow writer still held its slot.
    /// </summary>
    public bool TryWrite(in Flow flow)
    {
        var position = Interlocked.Increment(ref _claimed) - 1;
        ref var slot = ref _slots[(int)(position % _capacity)];
        var writing = ((position + 1) << 1) | 1;
        while (true)
        {
            var state = Volatile.Read(ref slot.State);
            if ((state & 1) != 0 || (state >> 1) > position + 1)
            {
                Interlocked.Increment(ref _droppedOnWrite);
                return false;
            }

            if (Interlocked.CompareExchange(ref slot.State, writing, state) == state)
            {
                break;
            }
        }

        slot.Flow = flow;
        if (flow.TimeUnixNanos == 0 || flow.Uuid == Guid.Empty)
        {
            slot.Flow = slot.Flow with
            {
                TimeUnixNanos = flow.TimeUnixNanos != 0 ? flow.TimeUnixNanos : Flow.ToUnixNanos(_time.GetUtcNow()),
                Uuid = flow.Uuid != Guid.Empty ? flow.Uuid : MakeUuid(position),
            };
        }

        Volatile.Write(ref slot.State, writing & ~1L);

        // The full fence of the increment orders the publish above before the read of _signal below, pairing with
        // the reader that installs _signal and then re-reads the slot (a store-load pair: Dekker).
        Interlocked.Increment(ref _published);
        if (Volatile.Read(ref _signal) is not null)
        {
            Interlocked.Exchange(ref _signal, null)?.TrySetResult();
        }

        return true;
    }

    /// <summary>
    /// Reads buffered flows, oldest first: the history part of <see cref="ReadAsync"/>. Waits only for a writer caught
    /// between claim and publish, up to <see cref="FlowReadOptions.PendingGrace"/>; flows lost that way are skipped.
    /// </summary>
    public List<Flow> ReadBuffered(FlowReadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ReadHistory(options, Volatile.Read(ref _claimed), out _);
    }

    /// <summary>
    /// Streams flows as <see cref="FlowResponse"/>s: first the buffered flows the options select (oldest first), then,
    /// with <see cref="FlowReadOptions.Follow"/>, new flows as they are written, until cancelled. A follower that falls
    /// behind the writers gets a <see cref="FlowResponseKind.LostEvents"/> response before its next flow.
    /// </summary>
    public async IAsyncEnumerable<FlowResponse> ReadAsync(FlowReadOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var end = Volatile.Read(ref _claimed);
        var history = ReadHistory(options, end, out var lostInHistory);
        if (lostInHistory > 0)
        {
            Interlocked.Add(ref _lostToReaders, (long)lostInHistory);
            yield return new FlowResponse(
                new LostEvents(LostEventSource.HubbleRingBuffer, lostInHistory), null, Flow.ToUnixNanos(_time.GetUtcNow()));
        }

        foreach (var flow in history)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new FlowResponse(flow);
        }

        if (!options.Follow)
        {
            yield break;
        }

        var position = end;
        ulong lost = 0;
        long pendingSince = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var claimed = Volatile.Read(ref _claimed);
            if (position >= claimed)
            {
                await WaitForWriteAsync(position, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var oldest = claimed - _capacity;
            if (position < oldest)
            {
                lost += (ulong)(oldest - position);
                position = oldest;
            }

            var result = TryRead(position, out var flow);
            if (result == SlotRead.Pending)
            {
                if (pendingSince == 0)
                {
                    pendingSince = _time.GetTimestamp();
                }

                if (_time.GetElapsedTime(pendingSince) < options.PendingGrace)
                {
                    await WaitForWriteAsync(position, TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                result = SlotRead.Overwritten;
            }

            pendingSince = 0;
            position++;
            if (result == SlotRead.Overwritten)
            {
                lost++;
                continue;
            }

            if (lost > 0)
            {
                Interlocked.Add(ref _lostToReaders, (long)lost);
                yield return new FlowResponse(
                    new LostEvents(LostEventSource.HubbleRingBuffer, lost), flow.NodeName, Flow.ToUnixNanos(_time.GetUtcNow()));
                lost = 0;
            }

            if (options.Filter is null || options.Filter(in flow))
            {
                yield return new FlowResponse(flow);
            }
        }
    }

    private List<Flow> ReadHistory(FlowReadOptions options, long end, out ulong lost)
    {
        var result = new List<Flow>();
        lost = 0;
        var wantHistory = options.Last is not null || options.SinceUnixNanos is not null || !options.Follow;
        if (!wantHistory || options.Last is <= 0)
        {
            return result;
        }

        var start = Math.Max(0, end - _capacity);
        for (var position = end - 1; position >= start; position--)
        {
            if (options.Last is int last && result.Count >= last)
            {
                break;
            }

            var read = TryRead(position, out var flow);
            if (read == SlotRead.Pending)
            {
                read = WaitForPending(position, options.PendingGrace, out flow);
                if (read == SlotRead.Pending)
                {
                    lost++;
                    continue;
                }
            }

            if (read != SlotRead.Published
                || (options.SinceUnixNanos is long since && flow.TimeUnixNanos < since)
                || (options.Filter is not null && !options.Filter(in flow)))
            {
                continue;
            }

            result.Add(flow);
        }

        result.Reverse();
        return result;
    }

    // A position below the claim counter whose slot is not published yet belongs to a writer that is copying right
    // now (or was descheduled mid-copy): wait for it on the reader's thread, never on the writer's.
    private SlotRead WaitForPending(long position, TimeSpan grace, out Flow flow)
    {
        var started = _time.GetTimestamp();
        var spinner = default(SpinWait);
        SlotRead read;
        do
        {
            spinner.SpinOnce(sleep1Threshold: 20);
            read = TryRead(position, out flow);
        }
        while (read == SlotRead.Pending && _time.GetElapsedTime(started) < grace);

        return read;
    }

    private SlotRead TryRead(long position, out Flow flow)
    {
        ref var slot = ref _slots[(int)(position % _capacity)];
        var expected = (position + 1) << 1;
        var before = Volatile.Read(ref slot.State);
        if (before != expected)
        {
            flow = default;
            return (before >> 1) - 1 > position ? SlotRead.Overwritten : SlotRead.Pending;
        }

        flow = slot.Flow;

        // The copy above must complete before the version is read again (sequence-lock read side).
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref slot.State) == before ? SlotRead.Published : SlotRead.Overwritten;
    }

    private async Task WaitForWriteAsync(long position, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _signal);
        if (signal is null)
        {
            var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signal = Interlocked.CompareExchange(ref _signal, fresh, null) ?? fresh;
        }

        // Re-check after registering, so a write published between the caller's check and the registration is not missed.
        if (Volatile.Read(ref _claimed) > position && TryRead(position, out _) != SlotRead.Pending)
        {
            return;
        }

        try
        {
            await signal.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>Claims a position and never publishes it: what readers see while a writer is descheduled mid-copy (tests).</summary>
    internal long ClaimWithoutPublishing() => Interlocked.Increment(ref _claimed) - 1;

    private Guid MakeUuid(long position)
    {
        // RFC 9562 §5.4 layout (version 4, variant 10): a per-ring random prefix plus the position keeps uuids unique
        // without calling the random generator on the write path.
        var p = (ulong)position;
        return new Guid(
            (int)(_uuidPrefix >> 32),
            (short)(_uuidPrefix >> 16),
            (short)((_uuidPrefix & 0x0FFF) | 0x4000),
            (byte)(0x80 | ((p >> 56) & 0x3F)),
            (byte)(p >> 48),
            (byte)(p >> 40),
            (byte)(p >> 32),
            (byte)(p >> 24),
            (byte)(p >> 16),
            (byte)(p >> 8),
            (byte)p);
    }

    private enum SlotRead
    {
        Published,
        Overwritten,
        Pending,
    }

    private struct Slot
    {
        public long State;
        public Flow Flow;
    }
}

/// <summary>Counters of a <see cref="FlowRing"/>.</summary>
/// <param name="Capacity">Number of slots (Hubble <c>max_flows</c>).</param>
/// <param name="NumFlows">Flows currently buffered (Hubble <c>num_flows</c>).</param>
/// <param name="SeenFlows">Flows written since start (Hubble <c>seen_flows</c>).</param>
/// <param name="DroppedOnWrite">Flows a writer dropped because a lapped writer still held the slot.</param>
/// <param name="LostToReaders">Flows followers lost because they were overwritten before being read (summed over followers).</param>
public readonly record struct FlowRingStatistics(int Capacity, long NumFlows, long SeenFlows, long DroppedOnWrite, long LostToReaders);
