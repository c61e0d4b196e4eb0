namespace Membrane.Proxy.Http2;

/// <summary>Which of the proxy's two HTTP/2 connections a stream leg or a session belongs to.</summary>
internal enum Http2Side
{
    /// <summary>The client's connection (the proxy is the server): requests arrive, responses leave.</summary>
    Client,

    /// <summary>An upstream connection (the proxy is the client): requests leave, responses arrive.</summary>
    Upstream,
}

/// <summary>
/// One connection's part of a proxied stream: its stream id there, both stream flow-control windows (RFC 9113 §6.9)
/// and the data waiting to be sent there. A <see cref="Http2ProxyStream"/> has one for the client's connection and one
/// for the upstream's; the session of that connection changes it in place (by <c>ref</c>) under the route's gate.
/// </summary>
internal struct Http2StreamLeg
{
    /// <summary>The stream id on this connection, 0 until the stream is opened there.</summary>
    public int StreamId;

    /// <summary>DATA the peer accepts (its stream window); negative after SETTINGS shrank it (RFC 9113 §6.9.2).</summary>
    public long SendWindow;

    /// <summary>DATA the peer may still send (our stream window).</summary>
    public int ReceiveWindow;

    /// <summary>Received bytes relayed or dropped that were not yet credited back to the peer.</summary>
    public int ReceiveCredit;

    /// <summary>In the session's list of streams waiting for window or output space.</summary>
    public bool Waiting;

    /// <summary>Creates a leg with its queue of data to send.</summary>
    public Http2StreamLeg(DataQueue outbound)
    {
        Outbound = outbound;
    }

    /// <summary>Data (and how the direction ends) waiting to be sent on this connection.</summary>
    public DataQueue Outbound { get; }

    /// <summary>Opens the leg: the id, our window for what the peer sends and the peer's for what we send.</summary>
    public void Open(int streamId, int receiveWindow, long sendWindow)
    {
        StreamId = streamId;
        ReceiveWindow = receiveWindow;
        SendWindow = sendWindow;
    }

    /// <summary>
    /// Counts a received DATA frame (its whole length, padding included: RFC 9113 §6.9.1) against our window; false
    /// when the peer sent beyond it.
    /// </summary>
    public bool TryReceive(int frameLength)
    {
        ReceiveWindow -= frameLength;
        return ReceiveWindow >= 0;
    }

    /// <summary>
    /// Credits received bytes that left the proxy (or were dropped); once half the stream window is owed, the credit
    /// is returned to the peer in one WINDOW_UPDATE.
    /// </summary>
    public void Credit(FrameOutput output, int count, int streamWindow)
    {
        ReceiveCredit += count;
        if (ReceiveCredit >= streamWindow / 2)
        {
            Http2Writes.WindowUpdate(output, StreamId, ReceiveCredit);
            ReceiveWindow += ReceiveCredit;
            ReceiveCredit = 0;
        }
    }

    /// <summary>Takes the peer's WINDOW_UPDATE; false (window unchanged) when it would pass 2^31-1 (RFC 9113 §6.9.1).</summary>
    public bool TryGrowSendWindow(long increment)
    {
        if (SendWindow + increment > Http2Constants.MaxWindowSize)
        {
            return false;
        }

        SendWindow += increment;
        return true;
    }

    /// <summary>Records data written on the leg.</summary>
    public void Sent(long count) => SendWindow -= count;

    /// <summary>Clears the leg for reuse (its queue too).</summary>
    public void Reset()
    {
        StreamId = 0;
        SendWindow = 0;
        ReceiveWindow = 0;
        ReceiveCredit = 0;
        Waiting = false;
        Outbound.Clear();
    }
}
