namespace Membrane.Proxy.Http2;

/// <summary>
/// The proxy's HTTP/2 settings and limits on both legs. Defaults follow Kestrel's (the front the proxy replaced) where
/// Kestrel has one: 250 concurrent streams (the proxy's earlier configuration), 4 KB HPACK table, 16 KB frames,
/// 32 KB / 100 request header fields, 1 MB connection window.
/// </summary>
internal sealed class Http2Limits
{
    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients.</summary>
    public int MaxConcurrentStreams { get; init; } = 250;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE advertised on both legs: what one stream may have in flight towards the
    /// proxy, and so the most it buffers for a stream whose other side is slower.</summary>
    public int StreamWindow { get; init; } = 256 * 1024;

    /// <summary>Connection flow-control window advertised on both legs.</summary>
    public int ConnectionWindow { get; init; } = 1024 * 1024;

    /// <summary>Bytes a session may hold queued for slower peers before it stops crediting its connection window.</summary>
    public int MaxQueuedBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE for requests (RFC 9113 §6.5.2 accounting); larger requests get 431.</summary>
    public int MaxRequestHeaderListSize { get; init; } = 32 * 1024;

    /// <summary>Largest number of request header fields; more get 431.</summary>
    public int MaxRequestHeaderFields { get; init; } = 100;

    /// <summary>Largest response header list accepted from the upstream; larger responses give 502.</summary>
    public int MaxResponseHeaderListSize { get; init; } = 32 * 1024;

    /// <summary>Longest HPACK string (encoded) accepted.</summary>
    public int MaxHeaderStringLength { get; init; } = 16 * 1024;

    /// <summary>Largest header block (HEADERS + CONTINUATION bytes): a CONTINUATION flood is cut here.</summary>
    public int MaxHeaderBlockBytes { get; init; } = 256 * 1024;

    /// <summary>Streams the client may reset before their response completed, once more than half of its streams are
    /// such (the rapid-reset defence, CVE-2023-44487, in the shape Envoy uses); then GOAWAY ENHANCE_YOUR_CALM.</summary>
    public int MaxPrematureResets { get; init; } = 500;

    /// <summary>Frames that carry nothing (empty DATA or CONTINUATION, PING, SETTINGS, PRIORITY, WINDOW_UPDATE on
    /// idle streams...) allowed per second before the connection is closed (CVE-2019-9512/9518 style floods).</summary>
    public int MaxControlFramesPerSecond { get; init; } = 10_000;

    /// <summary>Bytes a session may have written but not yet sent (the peer does not read) before it is closed.</summary>
    public int MaxOutputBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Idle upstream connections (no stream) are closed after this.</summary>
    public TimeSpan UpstreamIdleConnectionTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long a send to a peer may stay incomplete before the connection is closed (slow-read defence).</summary>
    public TimeSpan SendStallTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
