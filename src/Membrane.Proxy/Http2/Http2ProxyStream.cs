using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Http2;

/// <summary>
/// One proxied HTTP/2 stream: the client's stream and, once allowed, the upstream stream it is relayed to. Request-side
/// fields are the client session's and the upstream session's to change, response-side ones likewise; all under the
/// route's gate. Pooled per route (<see cref="Generation"/> tells a reused object from the stream it was).
/// </summary>
internal sealed class Http2ProxyStream
{
    public Http2ProxyStream(Http2Limits limits)
    {
        RequestHeaders = new HeaderList(limits.MaxRequestHeaderListSize, limits.MaxRequestHeaderFields);
        ClientLeg = new Http2StreamLeg(new DataQueue());
        UpstreamLeg = new Http2StreamLeg(new DataQueue());
    }

    /// <summary>Incremented each time the object is reused.</summary>
    public int Generation { get; private set; }

    /// <summary>The client connection.</summary>
    public Http2ClientSession Client { get; set; } = null!;

    /// <summary>The stream on the client's connection: its id, windows and the response data waiting for the client.</summary>
    public Http2StreamLeg ClientLeg;

    /// <summary>The upstream connection, once chosen.</summary>
    public Http2UpstreamSession? Upstream { get; set; }

    /// <summary>
    /// The stream on the upstream connection: its id (0 until the request HEADERS were sent), windows and the request
    /// data waiting for the upstream.
    /// </summary>
    public Http2StreamLeg UpstreamLeg;

    /// <summary>The request's fields as decoded (then edited by header actions).</summary>
    public HeaderList RequestHeaders { get; }

    /// <summary>Where the request's pseudo-header fields are.</summary>
    public Http2RequestHead Head;

    /// <summary>The checked (normalized) path as bytes: what <c>:path</c> carries upstream.</summary>
    public byte[] Path { get; private set; } = new byte[256];

    /// <summary>Length of <see cref="Path"/>.</summary>
    public int PathLength { get; private set; }

    /// <summary>The client ended its request (END_STREAM received), or the request side was closed.</summary>
    public bool RequestEnded { get; set; }

    /// <summary>END_STREAM was sent upstream.</summary>
    public bool RequestEndSent { get; set; }

    /// <summary>The final response HEADERS went to the client.</summary>
    public bool ResponseStarted { get; set; }

    /// <summary>The response ended towards the client (END_STREAM written or queued behind data).</summary>
    public bool ResponseEnded { get; set; }

    /// <summary>The upstream ended its response (END_STREAM received).</summary>
    public bool UpstreamEnded { get; set; }

    /// <summary>Final response headers came from the upstream.</summary>
    public bool ResponseHeadersReceived { get; set; }

    /// <summary>The client side is finished (both directions ended, or reset); removed from the client session.</summary>
    public bool ClientClosed { get; set; }

    /// <summary>The upstream side is finished (or never opened); removed from the upstream session.</summary>
    public bool UpstreamClosed { get; set; }

    /// <summary>The proxy answered this request itself (denied, malformed, upstream unavailable).</summary>
    public bool Local { get; set; }

    /// <summary>Request data waiting for the upstream.</summary>
    public DataQueue RequestQueue => UpstreamLeg.Outbound;

    /// <summary>Response data waiting for the client.</summary>
    public DataQueue ResponseQueue => ClientLeg.Outbound;

    /// <summary>Request body bytes received (checked against content-length).</summary>
    public long RequestBodyBytes { get; set; }

    /// <summary>The policy the request was decided under.</summary>
    public ConnectionPolicy Policy { get; set; } = null!;

    /// <summary>HTTP method (interned for the common ones).</summary>
    public string Method { get; set; } = "";

    /// <summary>URL as checked, for events.</summary>
    public string Url { get; set; } = "";

    /// <summary>The verdict.</summary>
    public HttpDecision Decision { get; set; }

    /// <summary>Stopwatch timestamp of the request.</summary>
    public long Started { get; set; }

    /// <summary>Response status sent to the client.</summary>
    public int Status { get; set; }

    /// <summary>gRPC status seen in the response, or -1.</summary>
    public int GrpcStatus { get; set; } = -1;

    /// <summary>The response event's verdict is Error (the proxy answered because something failed).</summary>
    public bool ResponseVerdictError { get; set; }

    /// <summary>Detail for the response event.</summary>
    public string? ResponseDetail { get; set; }

    /// <summary>False when the request's error event already tells the story (no response event).</summary>
    public bool PublishResponse { get; set; } = true;

    /// <summary>The stream's leg on the given side's connection.</summary>
    public ref Http2StreamLeg Leg(Http2Side side) => ref side == Http2Side.Upstream ? ref UpstreamLeg : ref ClientLeg;

    /// <summary>Stores the checked path (ASCII) as bytes.</summary>
    public void SetPath(ReadOnlySpan<char> path)
    {
        if (Path.Length < path.Length)
        {
            Path = new byte[Math.Max(path.Length, Path.Length * 2)];
        }

        for (var i = 0; i < path.Length; i++)
        {
            Path[i] = (byte)path[i];
        }

        PathLength = path.Length;
    }

    /// <summary>Clears the object for reuse.</summary>
    public void Reset()
    {
        Generation++;
        Client = null!;
        Upstream = null;
        RequestHeaders.Clear();
        Head = default;
        PathLength = 0;
        RequestEnded = RequestEndSent = ResponseStarted = ResponseEnded = UpstreamEnded = ResponseHeadersReceived = false;
        ClientClosed = UpstreamClosed = Local = false;
        ClientLeg.Reset();
        UpstreamLeg.Reset();
        RequestBodyBytes = 0;
        Policy = null!;
        Method = Url = "";
        Decision = default;
        Started = 0;
        Status = 0;
        GrpcStatus = -1;
        ResponseVerdictError = false;
        ResponseDetail = null;
        PublishResponse = true;
    }
}
