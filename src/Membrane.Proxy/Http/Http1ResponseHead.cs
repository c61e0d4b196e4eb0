namespace Membrane.Proxy.Http;

/// <summary>How the body of an upstream response is delimited (RFC 9112 §6.3).</summary>
internal enum ResponseFraming : byte
{
    /// <summary>No body (1xx, 204, 304, or a response to HEAD).</summary>
    None,

    /// <summary><c>Content-Length</c> bytes.</summary>
    ContentLength,

    /// <summary><c>Transfer-Encoding: chunked</c>.</summary>
    Chunked,

    /// <summary>Neither: the body runs until the upstream closes the connection.</summary>
    UntilClose,
}

/// <summary>One header field of a parsed response head, as offsets into the parsed buffer.</summary>
internal readonly record struct HeaderRange(int NameStart, int NameLength, int ValueStart, int ValueLength);

/// <summary>
/// The result of parsing an upstream HTTP/1.x response head. Header fields are offsets into the buffer that was
/// parsed, so the caller copies them out without the parser allocating. Reused per connection.
/// </summary>
internal sealed class Http1ResponseHead
{
    /// <summary>Most header fields a response may carry (Kestrel's request default is 100).</summary>
    public const int MaxHeaders = 100;

    private readonly HeaderRange[] _headers = new HeaderRange[MaxHeaders];

    /// <summary>Status code (100–999).</summary>
    public int StatusCode { get; set; }

    /// <summary>The reason phrase's offset and length in the buffer.</summary>
    public (int Start, int Length) Reason { get; set; }

    /// <summary>True for HTTP/1.1 (or later minor), false for HTTP/1.0.</summary>
    public bool IsHttp11 { get; set; }

    /// <summary>Bytes taken by the status line, header fields and the empty line.</summary>
    public int HeadLength { get; set; }

    /// <summary>The body framing, before the request method is taken into account.</summary>
    public ResponseFraming Framing { get; set; }

    /// <summary>The <c>Content-Length</c> value when <see cref="Framing"/> is <see cref="ResponseFraming.ContentLength"/>.</summary>
    public long ContentLength { get; set; }

    /// <summary>True when the upstream will not keep the connection open after this response.</summary>
    public bool ConnectionClose { get; set; }

    /// <summary>Number of header fields.</summary>
    public int HeaderCount { get; set; }

    /// <summary>The parsed header fields.</summary>
    public ReadOnlySpan<HeaderRange> Headers => _headers.AsSpan(0, HeaderCount);

    /// <summary>Why the head was rejected, when it was.</summary>
    public string? Error { get; set; }

    /// <summary>Adds a field; false when <see cref="MaxHeaders"/> is reached.</summary>
    public bool TryAdd(HeaderRange range)
    {
        if (HeaderCount == MaxHeaders)
        {
            return false;
        }

        _headers[HeaderCount++] = range;
        return true;
    }

    /// <summary>Clears the head for the next response.</summary>
    public void Reset()
    {
        StatusCode = 0;
        Reason = default;
        IsHttp11 = false;
        HeadLength = 0;
        Framing = ResponseFraming.None;
        ContentLength = 0;
        ConnectionClose = false;
        HeaderCount = 0;
        Error = null;
    }
}
