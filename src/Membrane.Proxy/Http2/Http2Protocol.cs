namespace Membrane.Proxy.Http2;

/// <summary>Frame types (RFC 9113 §6).</summary>
internal enum Http2FrameType : byte
{
    /// <summary>DATA (§6.1).</summary>
    Data = 0,

    /// <summary>HEADERS (§6.2).</summary>
    Headers = 1,

    /// <summary>PRIORITY (§6.3, deprecated: parsed and ignored).</summary>
    Priority = 2,

    /// <summary>RST_STREAM (§6.4).</summary>
    RstStream = 3,

    /// <summary>SETTINGS (§6.5).</summary>
    Settings = 4,

    /// <summary>PUSH_PROMISE (§6.6): never accepted (push is disabled on both legs).</summary>
    PushPromise = 5,

    /// <summary>PING (§6.7).</summary>
    Ping = 6,

    /// <summary>GOAWAY (§6.8).</summary>
    GoAway = 7,

    /// <summary>WINDOW_UPDATE (§6.9).</summary>
    WindowUpdate = 8,

    /// <summary>CONTINUATION (§6.10).</summary>
    Continuation = 9,
}

/// <summary>Frame flags (RFC 9113 §6).</summary>
internal static class Http2Flags
{
    /// <summary>END_STREAM (DATA, HEADERS).</summary>
    public const byte EndStream = 0x1;

    /// <summary>ACK (SETTINGS, PING).</summary>
    public const byte Ack = 0x1;

    /// <summary>END_HEADERS (HEADERS, CONTINUATION).</summary>
    public const byte EndHeaders = 0x4;

    /// <summary>PADDED (DATA, HEADERS).</summary>
    public const byte Padded = 0x8;

    /// <summary>PRIORITY (HEADERS).</summary>
    public const byte Priority = 0x20;
}

/// <summary>Error codes of RST_STREAM and GOAWAY (RFC 9113 §7).</summary>
internal enum Http2ErrorCode : uint
{
    /// <summary>Graceful end.</summary>
    NoError = 0x0,

    /// <summary>Protocol violation.</summary>
    ProtocolError = 0x1,

    /// <summary>Implementation fault (also: the upstream stream failed after the response started).</summary>
    InternalError = 0x2,

    /// <summary>Flow-control violation.</summary>
    FlowControlError = 0x3,

    /// <summary>SETTINGS not acknowledged in time.</summary>
    SettingsTimeout = 0x4,

    /// <summary>Frame on a half-closed stream.</summary>
    StreamClosed = 0x5,

    /// <summary>Frame of the wrong size.</summary>
    FrameSizeError = 0x6,

    /// <summary>Stream refused before any processing (the client may retry it).</summary>
    RefusedStream = 0x7,

    /// <summary>Stream no longer needed.</summary>
    Cancel = 0x8,

    /// <summary>HPACK state cannot be maintained.</summary>
    CompressionError = 0x9,

    /// <summary>CONNECT tunnel failed.</summary>
    ConnectError = 0xa,

    /// <summary>The peer generates excessive load (floods, rapid reset).</summary>
    EnhanceYourCalm = 0xb,

    /// <summary>Transport security inadequate.</summary>
    InadequateSecurity = 0xc,

    /// <summary>Use HTTP/1.1.</summary>
    Http11Required = 0xd,
}

/// <summary>SETTINGS parameters (RFC 9113 §6.5.2, RFC 8441).</summary>
internal enum Http2Setting : ushort
{
    /// <summary>SETTINGS_HEADER_TABLE_SIZE.</summary>
    HeaderTableSize = 0x1,

    /// <summary>SETTINGS_ENABLE_PUSH.</summary>
    EnablePush = 0x2,

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS.</summary>
    MaxConcurrentStreams = 0x3,

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE.</summary>
    InitialWindowSize = 0x4,

    /// <summary>SETTINGS_MAX_FRAME_SIZE.</summary>
    MaxFrameSize = 0x5,

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE.</summary>
    MaxHeaderListSize = 0x6,

    /// <summary>SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441).</summary>
    EnableConnectProtocol = 0x8,
}

/// <summary>Protocol constants.</summary>
internal static class Http2Constants
{
    /// <summary>Frame header length.</summary>
    public const int FrameHeaderLength = 9;

    /// <summary>Default and smallest SETTINGS_MAX_FRAME_SIZE.</summary>
    public const int DefaultMaxFrameSize = 16384;

    /// <summary>Largest SETTINGS_MAX_FRAME_SIZE.</summary>
    public const int MaxMaxFrameSize = (1 << 24) - 1;

    /// <summary>Initial flow-control window of streams and connections before SETTINGS.</summary>
    public const int DefaultInitialWindowSize = 65535;

    /// <summary>Largest flow-control window.</summary>
    public const int MaxWindowSize = int.MaxValue;

    /// <summary>The client connection preface (RFC 9113 §3.4).</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;
}
