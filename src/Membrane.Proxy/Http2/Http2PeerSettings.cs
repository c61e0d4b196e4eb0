namespace Membrane.Proxy.Http2;

/// <summary>
/// The settings a peer announced that bound what the proxy sends it (RFC 9113 §6.5.2), starting at the protocol's
/// defaults. Applied from each SETTINGS frame in order.
/// </summary>
internal struct Http2PeerSettings
{
    /// <summary>Creates the defaults; the concurrency limit is assumed until the peer announces one.</summary>
    public Http2PeerSettings(int assumedMaxConcurrentStreams)
    {
        MaxConcurrentStreams = assumedMaxConcurrentStreams;
    }

    /// <summary>SETTINGS_MAX_FRAME_SIZE: the largest frame payload the peer takes.</summary>
    public int MaxFrameSize { get; private set; } = Http2Constants.DefaultMaxFrameSize;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE: the send window of a stream opened now.</summary>
    public long InitialWindow { get; private set; } = Http2Constants.DefaultInitialWindowSize;

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS: how many streams the proxy may open on the peer at once.</summary>
    public int MaxConcurrentStreams { get; private set; }

    /// <summary>
    /// Applies a SETTINGS frame (not an ACK; the frame reader checked its length and values). A new initial window
    /// moves the send window of every open stream's <paramref name="side"/> leg by the difference, which may leave it
    /// negative (RFC 9113 §6.9.2); returns the connection error's message when one passes 2^31-1, with the settings
    /// before it applied, or null.
    /// </summary>
    public string? Apply(in Http2Frame frame, Dictionary<int, Http2ProxyStream> streams, Http2Side side)
    {
        for (var i = 0; i < frame.Length / 6; i++)
        {
            var (id, value) = Http2FrameReader.ReadSetting(frame.Payload, i);
            switch (id)
            {
                case Http2Setting.MaxConcurrentStreams:
                    MaxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                    break;
                case Http2Setting.InitialWindowSize:
                {
                    var delta = value - InitialWindow;
                    InitialWindow = value;
                    foreach (var s in streams.Values)
                    {
                        ref var leg = ref s.Leg(side);
                        leg.SendWindow += delta;
                        if (leg.SendWindow > Http2Constants.MaxWindowSize)
                        {
                            return "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window";
                        }
                    }

                    break;
                }

                case Http2Setting.MaxFrameSize:
                    MaxFrameSize = (int)value;
                    break;
            }
        }

        return null;
    }
}
