using Membrane.Proxy.Http2;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>A stream's flow-control windows on one connection (RFC 9113 §6.9).</summary>
public sealed class Http2StreamLegTests
{
    private const int StreamWindow = 256 * 1024;

    [Fact]
    public void ReceivedDataCountsAgainstTheWindowUpToItsLastByte()
    {
        var leg = new Http2StreamLeg(new DataQueue());
        leg.Open(5, StreamWindow, 65_535);
        Assert.True(leg.TryReceive(StreamWindow - 10));
        Assert.True(leg.TryReceive(10));
        Assert.Equal(0, leg.ReceiveWindow);
        Assert.False(leg.TryReceive(1));
    }

    [Fact]
    public void CreditIsReturnedInOneWindowUpdateOnceHalfTheWindowIsOwed()
    {
        var capture = new CapturedFrameOutput();
        var leg = new Http2StreamLeg(new DataQueue());
        leg.Open(7, StreamWindow, 65_535);
        Assert.True(leg.TryReceive(StreamWindow / 2 + 100));

        leg.Credit(capture.Output, StreamWindow / 2 - 1, StreamWindow);
        Assert.Empty(capture.Frames());
        Assert.Equal(StreamWindow / 2 - 1, leg.ReceiveCredit);

        leg.Credit(capture.Output, 101, StreamWindow);
        Assert.Equal([(Http2FrameType.WindowUpdate, 7, StreamWindow / 2 + 100)], capture.Frames());
        Assert.Equal(0, leg.ReceiveCredit);
        Assert.Equal(StreamWindow, leg.ReceiveWindow);
    }

    [Fact]
    public void SendWindowGrowsToTwoToTheThirtyFirstMinusOneAndNoFurther()
    {
        var leg = new Http2StreamLeg(new DataQueue());
        leg.Open(1, StreamWindow, 65_535);
        leg.Sent(65_535);
        Assert.True(leg.TryGrowSendWindow(int.MaxValue));
        Assert.Equal(int.MaxValue, leg.SendWindow);

        // RFC 9113 §6.9.1: a window above 2^31-1 is an error; the window is left as it was.
        Assert.False(leg.TryGrowSendWindow(1));
        Assert.Equal(int.MaxValue, leg.SendWindow);
    }

    [Fact]
    public void ResetClearsTheLegAndEmptiesItsQueueButKeepsIt()
    {
        var queue = new DataQueue();
        var leg = new Http2StreamLeg(queue);
        leg.Open(3, StreamWindow, 100);
        leg.Waiting = true;
        queue.Append("abc"u8);
        queue.EndPending = true;

        leg.Reset();

        Assert.Same(queue, leg.Outbound);
        Assert.False(queue.HasWork);
        Assert.Equal((0, 0L, 0, 0, false), (leg.StreamId, leg.SendWindow, leg.ReceiveWindow, leg.ReceiveCredit, leg.Waiting));
    }
}
