using Membrane.Proxy.Http2;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>The peer's SETTINGS as both sessions apply them (RFC 9113 §6.5.2, §6.9.2).</summary>
public sealed class Http2PeerSettingsTests
{
    [Fact]
    public void StartsAtTheProtocolDefaultsWithTheAssumedConcurrencyLimit()
    {
        var peer = new Http2PeerSettings(100);
        Assert.Equal((16_384, 65_535L, 100), (peer.MaxFrameSize, peer.InitialWindow, peer.MaxConcurrentStreams));
    }

    [Fact]
    public void AppliesFrameSizeAndConcurrencyInOrder()
    {
        var peer = new Http2PeerSettings(100);
        var frame = CapturedFrameOutput.Parse(H2Wire.SettingsFrame(
            (Http2Setting.MaxFrameSize, 32_768), (Http2Setting.MaxConcurrentStreams, 10), (Http2Setting.MaxConcurrentStreams, uint.MaxValue)));

        Assert.Null(peer.Apply(frame, [], Http2Side.Upstream));

        Assert.Equal(32_768, peer.MaxFrameSize);
        Assert.Equal(int.MaxValue, peer.MaxConcurrentStreams);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ANewInitialWindowMovesTheOpenStreamsOfItsSideOnlyEvenBelowZero(bool upstream)
    {
        var side = upstream ? Http2Side.Upstream : Http2Side.Client;
        var limits = new Http2Limits();
        var streams = new Dictionary<int, Http2ProxyStream>();
        var stream = new Http2ProxyStream(limits);
        stream.Leg(side).Open(1, limits.StreamWindow, 65_535);
        stream.Leg(side).Sent(65_000);
        var other = side == Http2Side.Client ? Http2Side.Upstream : Http2Side.Client;
        stream.Leg(other).Open(3, limits.StreamWindow, 500);
        streams.Add(1, stream);
        var peer = new Http2PeerSettings(100);

        Assert.Null(peer.Apply(CapturedFrameOutput.Parse(H2Wire.SettingsFrame((Http2Setting.InitialWindowSize, 1_000))), streams, side));

        Assert.Equal(1_000, peer.InitialWindow);
        Assert.Equal(535 - 64_535, stream.Leg(side).SendWindow);
        Assert.Equal(500, stream.Leg(other).SendWindow);
    }

    [Fact]
    public void AStreamWindowPushedAboveTwoToTheThirtyFirstMinusOneIsAnErrorAndLaterSettingsAreNotApplied()
    {
        var limits = new Http2Limits();
        var stream = new Http2ProxyStream(limits);
        stream.ClientLeg.Open(1, limits.StreamWindow, 65_535);
        Assert.True(stream.ClientLeg.TryGrowSendWindow(int.MaxValue - 65_535));
        var peer = new Http2PeerSettings(100);
        var frame = CapturedFrameOutput.Parse(H2Wire.SettingsFrame(
            (Http2Setting.MaxFrameSize, 20_000), (Http2Setting.InitialWindowSize, 65_536), (Http2Setting.MaxFrameSize, 30_000)));

        Assert.Equal("SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window", peer.Apply(frame, new() { [1] = stream }, Http2Side.Client));

        Assert.Equal(20_000, peer.MaxFrameSize);
    }
}
