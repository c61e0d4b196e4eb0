namespace Membrane.Proxy.Http2;

/// <summary>
/// Connection-level flow control of one HTTP/2 connection (RFC 9113 §6.9): the peer's window for what the proxy sends,
/// our window for what the peer sends, and back-pressure from the other leg. Received DATA is credited as it arrives
/// (the stream windows bound what is buffered per stream) in WINDOW_UPDATEs of half the window, but not while the
/// bytes this connection received and the other leg still queues reach the limit: a slow peer on the other side holds
/// this peer back instead of growing the proxy's memory. Changed in place (by <c>ref</c>) under the route's gate.
/// </summary>
internal struct Http2ConnectionFlow
{
    private readonly int _window;
    private readonly long _maxQueuedBytes;

    /// <summary>Starts with the default windows of a new connection (RFC 9113 §6.9.2).</summary>
    public Http2ConnectionFlow(int window, long maxQueuedBytes)
    {
        _window = window;
        _maxQueuedBytes = maxQueuedBytes;
        SendWindow = Http2Constants.DefaultInitialWindowSize;
        ReceiveWindow = Http2Constants.DefaultInitialWindowSize;
    }

    /// <summary>DATA the peer accepts on the connection.</summary>
    public long SendWindow { get; private set; }

    /// <summary>DATA the peer may still send on the connection.</summary>
    public long ReceiveWindow { get; private set; }

    /// <summary>Received bytes not yet credited back to the peer.</summary>
    public long ReceiveCredit { get; private set; }

    /// <summary>Bytes received on this connection that wait in the other leg's queues.</summary>
    public long QueuedBytes { get; private set; }

    /// <summary>
    /// Raises our window from the protocol's default to the configured one: a WINDOW_UPDATE on stream 0 (SETTINGS
    /// cannot change the connection window, RFC 9113 §6.9.2).
    /// </summary>
    public void Open(FrameOutput output)
    {
        Http2Writes.WindowUpdate(output, 0, _window - Http2Constants.DefaultInitialWindowSize);
        ReceiveWindow = _window;
    }

    /// <summary>Counts a received DATA frame's whole length and credits it; false when the peer sent beyond the window.</summary>
    public bool TryReceive(FrameOutput? output, int frameLength)
    {
        ReceiveWindow -= frameLength;
        if (ReceiveWindow < 0)
        {
            return false;
        }

        Credit(output, frameLength);
        return true;
    }

    /// <summary>Received bytes now wait in the other leg's queue.</summary>
    public void Queued(long count) => QueuedBytes += count;

    /// <summary>Queued bytes left the other leg's queue (sent or dropped): credit held back may go out now.</summary>
    public void Dequeued(FrameOutput? output, long count)
    {
        QueuedBytes -= count;
        Credit(output, 0);
    }

    /// <summary>Takes the peer's WINDOW_UPDATE on stream 0; false when the window passes 2^31-1 (RFC 9113 §6.9.1).</summary>
    public bool TryGrowSendWindow(long increment)
    {
        SendWindow += increment;
        return SendWindow <= Http2Constants.MaxWindowSize;
    }

    /// <summary>Records DATA written on the connection.</summary>
    public void Sent(long count) => SendWindow -= count;

    private void Credit(FrameOutput? output, long received)
    {
        ReceiveCredit += received;
        if (output is not null && ReceiveCredit >= _window / 2 && QueuedBytes < _maxQueuedBytes)
        {
            Http2Writes.WindowUpdate(output, 0, (int)ReceiveCredit);
            ReceiveWindow += ReceiveCredit;
            ReceiveCredit = 0;
        }
    }
}
