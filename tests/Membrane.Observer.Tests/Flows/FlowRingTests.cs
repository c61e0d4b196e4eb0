using System.Diagnostics;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Tests.Flows;

public sealed class FlowRingTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    private static Flow Numbered(long n, long timeUnixNanos = 0) => new()
    {
        TimeUnixNanos = timeUnixNanos,
        Hash = (uint)n,
        ProxyPort = (uint)n,
        Verdict = Verdict.Forwarded,
        Source = new FlowEndpoint { Identity = (uint)n },
        Destination = new FlowEndpoint { Identity = (uint)n, Id = (uint)(n & 0xFFFF) },
        L4 = Layer4.Tcp((ushort)n, (ushort)(n >> 16)),
    };

    private static bool Consistent(in Flow f) =>
        f.ProxyPort == f.Hash && f.Source.Identity == f.Hash && f.Destination.Identity == f.Hash
        && f.Destination.Id == (f.Hash & 0xFFFF) && f.L4.SourcePort == (ushort)f.Hash && f.L4.DestinationPort == (ushort)(f.Hash >> 16);

    [Fact]
    public void Overwrites_the_oldest_and_keeps_write_order()
    {
        var ring = new FlowRing(4);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(ring.TryWrite(Numbered(i)));
        }

        var all = ring.ReadBuffered(new FlowReadOptions());
        Assert.Equal([6u, 7u, 8u, 9u], all.Select(f => f.Hash));
        Assert.Equal(new FlowRingStatistics(4, 4, 10, 0, 0), ring.Statistics);
    }

    [Fact]
    public void Counts_before_the_ring_is_full()
    {
        var ring = new FlowRing(100);
        ring.TryWrite(Numbered(1));
        ring.TryWrite(Numbered(2));
        Assert.Equal(2, ring.Statistics.NumFlows);
        Assert.Equal(2, ring.Statistics.SeenFlows);
        Assert.Equal([1u, 2u], ring.ReadBuffered(new FlowReadOptions()).Select(f => f.Hash));
    }

    [Fact]
    public void Last_n_counts_only_flows_the_filter_accepts()
    {
        var ring = new FlowRing(16);
        for (var i = 0; i < 10; i++)
        {
            ring.TryWrite(Numbered(i));
        }

        Assert.Equal([8u, 9u], ring.ReadBuffered(new FlowReadOptions { Last = 2 }).Select(f => f.Hash));
        Assert.Equal([6u, 8u], ring.ReadBuffered(new FlowReadOptions { Last = 2, Filter = (in Flow f) => f.Hash % 2 == 0 }).Select(f => f.Hash));
        Assert.Empty(ring.ReadBuffered(new FlowReadOptions { Last = 0 }));
    }

    [Fact]
    public void Since_selects_by_flow_time()
    {
        var ring = new FlowRing(16);
        for (var i = 1; i <= 10; i++)
        {
            ring.TryWrite(Numbered(i, timeUnixNanos: i * 1000));
        }

        Assert.Equal([7u, 8u, 9u, 10u], ring.ReadBuffered(new FlowReadOptions { SinceUnixNanos = 7000 }).Select(f => f.Hash));
        Assert.Equal([9u, 10u], ring.ReadBuffered(new FlowReadOptions { SinceUnixNanos = 7000, Last = 2 }).Select(f => f.Hash));
    }

    [Fact]
    public void Stamps_time_and_a_unique_version_4_uuid_when_missing()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-12T10:30:01.123Z", System.Globalization.CultureInfo.InvariantCulture));
        var ring = new FlowRing(8, clock);
        var given = Guid.NewGuid();
        ring.TryWrite(Numbered(1));
        ring.TryWrite(Numbered(2) with { Uuid = given, TimeUnixNanos = 42 });
        ring.TryWrite(Numbered(3));
        var flows = ring.ReadBuffered(new FlowReadOptions());

        Assert.Equal(Flow.ToUnixNanos(clock.GetUtcNow()), flows[0].TimeUnixNanos);
        Assert.Equal(42, flows[1].TimeUnixNanos);
        Assert.Equal(given, flows[1].Uuid);
        Assert.NotEqual(flows[0].Uuid, flows[2].Uuid);
        Assert.All(new[] { flows[0], flows[2] }, f =>
        {
            Assert.Equal(4, f.Uuid.Version);
            Assert.Equal(0b10, f.Uuid.Variant >> 2);
        });
    }

    [Fact]
    public async Task Follow_streams_new_flows_in_order()
    {
        var ring = new FlowRing(16);
        ring.TryWrite(Numbered(100));
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var follower = ring.ReadAsync(new FlowReadOptions { Follow = true }, cts.Token).GetAsyncEnumerator(cts.Token);

        var next = follower.MoveNextAsync().AsTask();
        await Task.Delay(50, cts.Token);
        Assert.False(next.IsCompleted, "a follower without --last must not replay buffered flows");

        for (var i = 1; i <= 3; i++)
        {
            ring.TryWrite(Numbered(i));
        }

        var got = new List<uint>();
        Assert.True(await next);
        got.Add(follower.Current.Flow.Hash);
        while (got.Count < 3)
        {
            Assert.True(await follower.MoveNextAsync());
            Assert.Equal(FlowResponseKind.Flow, follower.Current.Kind);
            got.Add(follower.Current.Flow.Hash);
        }

        Assert.Equal([1u, 2u, 3u], got);
    }

    [Fact]
    public async Task Last_then_follow_continues_without_gap_or_duplicate_and_applies_the_filter()
    {
        var ring = new FlowRing(16);
        for (var i = 0; i < 6; i++)
        {
            ring.TryWrite(Numbered(i));
        }

        using var cts = new CancellationTokenSource(TestTimeout);
        var options = new FlowReadOptions { Follow = true, Last = 2, Filter = (in Flow f) => f.Hash % 2 == 1 };
        await using var follower = ring.ReadAsync(options, cts.Token).GetAsyncEnumerator(cts.Token);
        var got = new List<uint>();
        for (var i = 0; i < 2; i++)
        {
            Assert.True(await follower.MoveNextAsync());
            got.Add(follower.Current.Flow.Hash);
        }

        for (var i = 6; i < 10; i++)
        {
            ring.TryWrite(Numbered(i));
        }

        for (var i = 0; i < 2; i++)
        {
            Assert.True(await follower.MoveNextAsync());
            got.Add(follower.Current.Flow.Hash);
        }

        Assert.Equal([3u, 5u, 7u, 9u], got);
    }

    [Fact]
    public async Task A_stalled_follower_never_blocks_the_writer_and_is_told_what_it_lost()
    {
        var ring = new FlowRing(8);
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var follower = ring.ReadAsync(new FlowReadOptions { Follow = true }, cts.Token).GetAsyncEnumerator(cts.Token);
        var first = follower.MoveNextAsync().AsTask();
        ring.TryWrite(Numbered(0));
        Assert.True(await first);
        Assert.Equal(0u, follower.Current.Flow.Hash);

        // The follower is stalled: it does not ask for the next flow while 100 more are written.
        var watch = Stopwatch.StartNew();
        for (var i = 1; i <= 100; i++)
        {
            Assert.True(ring.TryWrite(Numbered(i)));
        }

        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"writes took {watch.Elapsed}");

        Assert.True(await follower.MoveNextAsync());
        Assert.Equal(FlowResponseKind.LostEvents, follower.Current.Kind);
        Assert.Equal(new LostEvents(LostEventSource.HubbleRingBuffer, 92), follower.Current.Lost);

        var rest = new List<uint>();
        for (var i = 0; i < 8; i++)
        {
            Assert.True(await follower.MoveNextAsync());
            rest.Add(follower.Current.Flow.Hash);
        }

        Assert.Equal(Enumerable.Range(93, 8).Select(i => (uint)i), rest);
        Assert.Equal(92, ring.Statistics.LostToReaders);
    }

    [Fact]
    public async Task A_follower_whose_consumer_blocks_a_thread_does_not_slow_writers()
    {
        var ring = new FlowRing(64);
        using var cts = new CancellationTokenSource(TestTimeout);
        using var gate = new ManualResetEventSlim(false);
        var consumed = 0;
        var consumer = Task.Run(async () =>
        {
            await foreach (var response in ring.ReadAsync(new FlowReadOptions { Follow = true }, cts.Token))
            {
                Interlocked.Increment(ref consumed);
                gate.Wait(cts.Token);
            }
        });

        // Let the follower register for wake-ups before writing.
        await Task.Delay(100, cts.Token);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 200_000; i++)
        {
            Assert.True(ring.TryWrite(Numbered(i)));
        }

        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"200000 writes took {watch.Elapsed}");
        Assert.True(Volatile.Read(ref consumed) <= 1, "the consumer was blocked on its first flow");
        gate.Set();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer);
    }

    [Fact]
    public void Writing_allocates_nothing()
    {
        var ring = new FlowRing(1024);
        var stamped = Numbered(1) with { TimeUnixNanos = 1, Uuid = Guid.NewGuid() };
        var unstamped = Numbered(2);
        for (var i = 0; i < 2_000; i++)
        {
            ring.TryWrite(stamped);
            ring.TryWrite(unstamped);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            ring.TryWrite(stamped);
            ring.TryWrite(unstamped);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Several_writers_and_a_follower_lose_nothing_silently_and_never_see_a_torn_flow()
    {
        const int writers = 4;
        const int perWriter = 50_000;
        const long total = writers * (long)perWriter;
        var ring = new FlowRing(1024);
        using var cts = new CancellationTokenSource(TestTimeout);
        var received = 0L;
        var lost = 0L;
        var torn = 0L;
        var outOfOrder = 0L;
        var lastSeq = new long[writers];
        Array.Fill(lastSeq, -1);

        var follower = Task.Run(async () =>
        {
            await foreach (var response in ring.ReadAsync(new FlowReadOptions { Follow = true, PendingGrace = TimeSpan.FromSeconds(5) }, cts.Token))
            {
                if (response.Kind == FlowResponseKind.LostEvents)
                {
                    lost += (long)response.Lost.NumEventsLost;
                }
                else
                {
                    var flow = response.Flow;
                    if (!Consistent(flow))
                    {
                        torn++;
                    }

                    var writer = (int)(flow.Hash % writers);
                    var seq = flow.Hash / writers;
                    if (seq <= lastSeq[writer])
                    {
                        outOfOrder++;
                    }

                    lastSeq[writer] = seq;
                    received++;
                }

                if (received + lost == total)
                {
                    return;
                }
            }
        });

        await Task.Delay(50, cts.Token);
        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            for (long s = 0; s < perWriter; s++)
            {
                ring.TryWrite(Numbered((s * writers) + w));
            }
        })).ToArray();
        await Task.WhenAll(writing);
        await follower.WaitAsync(cts.Token);

        var stats = ring.Statistics;
        Assert.Equal(0, torn);
        Assert.Equal(0, outOfOrder);
        Assert.Equal(total, received + lost);
        Assert.Equal(total, stats.SeenFlows + stats.DroppedOnWrite);
        Assert.True(received > 0);
    }

    [Fact]
    public async Task Concurrent_snapshots_during_writes_return_only_whole_flows()
    {
        // A tiny ring makes the writer overwrite the slot a reader is copying as often as possible.
        var ring = new FlowRing(2);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var writer = Task.Run(() =>
        {
            var n = 0L;
            while (!cts.IsCancellationRequested)
            {
                ring.TryWrite(Numbered(n++));
            }
        });

        var snapshots = 0;
        var torn = 0;
        while (!cts.IsCancellationRequested)
        {
            var flows = ring.ReadBuffered(new FlowReadOptions());
            torn += flows.Count(f => !Consistent(f));
            for (var i = 1; i < flows.Count; i++)
            {
                Assert.True(flows[i].Hash > flows[i - 1].Hash);
            }

            snapshots++;
        }

        await writer;
        Assert.Equal(0, torn);
        Assert.True(snapshots > 0);
    }

    [Fact]
    public async Task A_writer_stalled_between_claim_and_publish_is_waited_for_then_reported_lost()
    {
        var ring = new FlowRing(8);
        using var cts = new CancellationTokenSource(TestTimeout);
        var grace = TimeSpan.FromMilliseconds(100);
        await using var follower = ring.ReadAsync(new FlowReadOptions { Follow = true, PendingGrace = grace }, cts.Token).GetAsyncEnumerator(cts.Token);
        var first = follower.MoveNextAsync().AsTask();
        ring.TryWrite(Numbered(0));
        Assert.True(await first);
        ring.ClaimWithoutPublishing();
        ring.TryWrite(Numbered(2));

        var history = new List<FlowResponse>();
        await foreach (var r in ring.ReadAsync(new FlowReadOptions { PendingGrace = grace }, cts.Token))
        {
            history.Add(r);
        }

        Assert.Equal(FlowResponseKind.LostEvents, history[0].Kind);
        Assert.Equal(1ul, history[0].Lost.NumEventsLost);
        Assert.Equal([0u, 2u], history.Skip(1).Select(r => r.Flow.Hash));

        var watch = Stopwatch.StartNew();
        Assert.True(await follower.MoveNextAsync());
        Assert.Equal(FlowResponseKind.LostEvents, follower.Current.Kind);
        Assert.Equal(1ul, follower.Current.Lost.NumEventsLost);
        Assert.True(watch.Elapsed >= grace * 0.9, $"the follower gave up after {watch.Elapsed}, before the grace period");
        Assert.True(await follower.MoveNextAsync());
        Assert.Equal(2u, follower.Current.Flow.Hash);
    }

    [Fact]
    public void Rejects_a_capacity_out_of_range()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowRing(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowRing(FlowRing.MaxCapacity + 1));
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
