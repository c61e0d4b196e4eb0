using Membrane.Proxy.Http2;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>Connection-level flow control: crediting as data arrives, held back while the other leg queues too much.</summary>
public sealed class Http2ConnectionFlowTests
{
    private const int Window = 1024 * 1024;
    private const int MaxQueued = 4 * 1024 * 1024;

    [Fact]
    public void OpeningRaisesTheReceiveWindowFromTheDefaultWithAWindowUpdateOnStreamZero()
    {
        var capture = new CapturedFrameOutput();
        var flow = new Http2ConnectionFlow(Window, MaxQueued);
        Assert.Equal(65_535, flow.SendWindow);
        Assert.Equal(65_535, flow.ReceiveWindow);

        flow.Open(capture.Output);

        Assert.Equal([(Http2FrameType.WindowUpdate, 0, Window - 65_535)], capture.Frames());
        Assert.Equal(Window, flow.ReceiveWindow);
    }

    [Fact]
    public void DataIsCreditedAsItArrivesInUpdatesOfHalfTheWindow()
    {
        var capture = new CapturedFrameOutput();
        var flow = new Http2ConnectionFlow(Window, MaxQueued);
        flow.Open(capture.Output);
        capture.Frames();

        Assert.True(flow.TryReceive(capture.Output, Window / 2 - 1));
        Assert.Empty(capture.Frames());
        Assert.True(flow.TryReceive(capture.Output, 16_384));
        Assert.Equal([(Http2FrameType.WindowUpdate, 0, Window / 2 - 1 + 16_384)], capture.Frames());
        Assert.Equal(Window, flow.ReceiveWindow);
        Assert.Equal(0, flow.ReceiveCredit);
    }

    [Fact]
    public void DataBeyondTheWindowIsRefused()
    {
        var flow = new Http2ConnectionFlow(Window, MaxQueued);

        // Before our WINDOW_UPDATE the peer has the default 65,535 bytes only.
        Assert.True(flow.TryReceive(null, 65_535));
        Assert.False(flow.TryReceive(null, 1));
    }

    [Fact]
    public void CreditIsHeldBackWhileTheOtherLegQueuesTheLimitAndReleasedWhenItDrains()
    {
        var capture = new CapturedFrameOutput();
        var flow = new Http2ConnectionFlow(Window, MaxQueued);
        flow.Open(capture.Output);
        capture.Frames();

        flow.Queued(MaxQueued);
        Assert.True(flow.TryReceive(capture.Output, Window));
        Assert.Empty(capture.Frames());
        Assert.Equal(0, flow.ReceiveWindow);
        Assert.False(flow.TryReceive(capture.Output, 1));

        flow = new Http2ConnectionFlow(Window, MaxQueued);
        flow.Open(capture.Output);
        capture.Frames();
        flow.Queued(MaxQueued);
        Assert.True(flow.TryReceive(capture.Output, Window));
        flow.Dequeued(capture.Output, 1);
        Assert.Equal([(Http2FrameType.WindowUpdate, 0, Window)], capture.Frames());
        Assert.Equal(Window, flow.ReceiveWindow);
        Assert.Equal(MaxQueued - 1, flow.QueuedBytes);
    }

    [Fact]
    public void WithoutAnOutputYetCreditAccumulatesUntilThereIsOne()
    {
        var capture = new CapturedFrameOutput();
        var flow = new Http2ConnectionFlow(Window, MaxQueued);
        flow.Queued(100);
        flow.Dequeued(null, 100);
        Assert.Equal(0, flow.QueuedBytes);
        Assert.Empty(capture.Frames());
    }

    [Fact]
    public void SendWindowAboveTwoToTheThirtyFirstMinusOneIsAnError()
    {
        var flow = new Http2ConnectionFlow(Window, MaxQueued);
        flow.Sent(65_535);
        Assert.True(flow.TryGrowSendWindow(int.MaxValue));
        Assert.False(flow.TryGrowSendWindow(1));
    }
}
