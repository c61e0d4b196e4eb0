using System.Buffers;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Http2;

/// <summary>
/// What the proxy's two kinds of HTTP/2 connection do alike: the frame loop, the connection's own frames (SETTINGS
/// with its ACK, PING, WINDOW_UPDATE on stream 0), flow control of both directions (connection windows in
/// <see cref="Http2ConnectionFlow"/>, stream windows in each stream's <see cref="Http2StreamLeg"/> of this side), and
/// relaying DATA under those windows: written at once when they and the output allow, otherwise queued on the stream
/// and drained as window updates and output space come. <see cref="Http2ClientSession"/> (the client's connection)
/// and <see cref="Http2UpstreamSession"/> (an upstream connection) supply the stream frames, their errors and what
/// happens when a direction's data was relayed or ended. All state is changed under the route's gate.
/// </summary>
internal abstract class Http2Connection : IFrameOutputOwner
{
    private readonly Http2Side _side;

    /// <summary>Creates the connection state of one side.</summary>
    private protected Http2Connection(Http2Route route, Http2Side side, HeaderBlockReader headers)
    {
        Route = route;
        Limits = route.Limits;
        _side = side;
        Headers = headers;
        Flow = new Http2ConnectionFlow(Limits.ConnectionWindow, Limits.MaxQueuedBytes);
        // RFC 9113 §6.5.2 recommends at least 100: assumed until the peer's SETTINGS say otherwise.
        Peer = new Http2PeerSettings(100);
    }

    /// <summary>The route: its gate, pools and limits.</summary>
    private protected Http2Route Route { get; }

    /// <summary>The route's HTTP/2 limits.</summary>
    private protected Http2Limits Limits { get; }

    /// <summary>Open streams by their id on this connection.</summary>
    private protected Dictionary<int, Http2ProxyStream> Streams { get; } = [];

    /// <summary>Streams with data queued for this peer, waiting for window or output space.</summary>
    private protected List<Http2ProxyStream> Waiting { get; } = [];

    /// <summary>The header block being received (HEADERS and its CONTINUATIONs).</summary>
    private protected HeaderBlockReader Headers { get; }

    /// <summary>Frames to the peer; null on an upstream connection until it is connected.</summary>
    private protected FrameOutput? Output { get; set; }

    /// <summary>The connection is going away or gone: no further frames are handled.</summary>
    private protected bool Closing { get; set; }

    /// <summary>The peer's first SETTINGS frame arrived.</summary>
    private protected bool SettingsReceived { get; set; }

    /// <summary>Connection-level flow control.</summary>
    private protected Http2ConnectionFlow Flow;

    /// <summary>What the peer's SETTINGS allow.</summary>
    private protected Http2PeerSettings Peer;

    /// <summary>Bytes received on this connection now wait in the other leg's queue (they hold back our window).</summary>
    public void ReceivedBytesQueued(long count) => Flow.Queued(count);

    /// <summary>Queued bytes received on this connection were sent on by the other leg, or dropped.</summary>
    public void ReceivedBytesReleased(long count) => Flow.Dequeued(Output, count);

    /// <inheritdoc />
    public void OnOutputWritable()
    {
        if (Waiting.Count == 0)
        {
            return;
        }

        for (var i = 0; i < Waiting.Count && Output!.CanWriteData && Flow.SendWindow > 0;)
        {
            var s = Waiting[i];
            Drain(s);
            if (i < Waiting.Count && ReferenceEquals(Waiting[i], s))
            {
                i++;
            }
        }
    }

    /// <inheritdoc />
    public abstract void OnOutputFailed(Exception? error);

    /// <summary>A connection error (RFC 9113 §5.4.1): GOAWAY with the code, then the connection closes.</summary>
    private protected abstract void ConnectionError(Http2ErrorCode code, string message);

    /// <summary>A DATA frame.</summary>
    private protected abstract void OnData(in Http2Frame frame);

    /// <summary>A HEADERS frame: starts a header block (<see cref="Headers"/>) and feeds its first fragment.</summary>
    private protected abstract void OnHeaders(in Http2Frame frame);

    /// <summary>Feeds a fragment of the open header block; handles the block once it is complete.</summary>
    private protected abstract void FeedBlock(in ReadOnlySequence<byte> fragment, bool endHeaders);

    /// <summary>An RST_STREAM frame.</summary>
    private protected abstract void OnRstStream(in Http2Frame frame);

    /// <summary>A GOAWAY frame.</summary>
    private protected abstract void OnGoAway(in Http2Frame frame);

    /// <summary>A WINDOW_UPDATE frame on a stream (not stream 0).</summary>
    private protected abstract void OnWindowUpdate(in Http2Frame frame);

    /// <summary>A PRIORITY frame (deprecated by RFC 9113 §5.3.2): ignored unless overridden.</summary>
    private protected virtual void OnPriority(in Http2Frame frame)
    {
    }

    /// <summary>
    /// A stream error (RFC 9113 §5.4.2): RST_STREAM with the code to this peer, the other leg told;
    /// <paramref name="detail"/>, when given, is recorded.
    /// </summary>
    private protected abstract void StreamError(Http2ProxyStream s, Http2ErrorCode code, string? detail);

    /// <summary>The peer's SETTINGS were applied and acknowledged.</summary>
    private protected abstract void OnPeerSettings();

    /// <summary>
    /// <paramref name="count"/> bytes of a stream's data left on this connection (<paramref name="fromQueue"/>: out of
    /// its queue): the other leg credits its peer.
    /// </summary>
    private protected abstract void OnRelayed(Http2ProxyStream s, int count, bool fromQueue);

    /// <summary>The stream's direction towards this peer ended (END_STREAM written).</summary>
    private protected abstract void OnSendEnded(Http2ProxyStream s);

    /// <summary>Counts a frame that carries no payload for the flood defence (client side only).</summary>
    private protected virtual void CountControlFrame()
    {
    }

    /// <summary>After an answer to a control frame was written: a peer that does not read them may be cut.</summary>
    private protected virtual void CheckOutput()
    {
    }

    /// <summary>Writes the connection's SETTINGS and raises its receive window (after the preface, client side).</summary>
    private protected void WriteOpening(ReadOnlySpan<(Http2Setting, uint)> settings)
    {
        var output = Output!;
        output.Advance(Http2FrameWriter.Settings(output.GetSpan(Http2Constants.FrameHeaderLength + 6 * settings.Length), false, settings));
        Flow.Open(output);
    }

    /// <summary>
    /// Handles every whole frame at the start of <paramref name="buffer"/> and moves it past them; stops at a partial
    /// frame or once the connection is closing.
    /// </summary>
    private protected void ProcessFrames(ref ReadOnlySequence<byte> buffer)
    {
        while (!Closing)
        {
            var status = Http2FrameReader.TryRead(buffer, Http2Constants.DefaultMaxFrameSize, out var frame, out var end, out var error);
            if (status == ParseStatus.NeedMoreData)
            {
                return;
            }

            if (status == ParseStatus.Rejected)
            {
                ConnectionError(error.Code, error.Message);
                return;
            }

            buffer = buffer.Slice(end);
            OnFrame(frame);
        }
    }

    /// <summary>Opens this side's leg of a stream with the current windows.</summary>
    private protected void OpenLeg(Http2ProxyStream s, int streamId) => Leg(s).Open(streamId, Limits.StreamWindow, Peer.InitialWindow);

    /// <summary>
    /// Counts a received DATA frame against the connection window and credits it; false (after the connection error)
    /// when the peer sent beyond the window.
    /// </summary>
    private protected bool ReceiveData(in Http2Frame frame)
    {
        if (!Flow.TryReceive(Output, frame.Length))
        {
            ConnectionError(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
            return false;
        }

        return true;
    }

    /// <summary>
    /// Counts a received DATA frame against the stream's window; false (after the FLOW_CONTROL_ERROR stream error)
    /// when the peer sent beyond it. <paramref name="padding"/>: the frame's padding bytes, flow-controlled but not
    /// relayed, which the caller credits back.
    /// </summary>
    private protected bool ReceiveStreamData(Http2ProxyStream s, in Http2Frame frame, out int padding)
    {
        padding = frame.Length - (int)frame.Payload.Length;
        if (!Leg(s).TryReceive(frame.Length))
        {
            StreamError(s, Http2ErrorCode.FlowControlError, "DATA beyond the stream window");
            return false;
        }

        return true;
    }

    /// <summary>
    /// The peer's WINDOW_UPDATE on an open stream: a zero increment is the frame reader's stream error, one past
    /// 2^31-1 a FLOW_CONTROL_ERROR (RFC 9113 §6.9.1); otherwise data held back by the stream window is sent.
    /// </summary>
    private protected void OnStreamWindowUpdate(Http2ProxyStream s, in Http2Frame frame)
    {
        if (frame.StreamError is { } error)
        {
            StreamError(s, error.Code, error.Message);
            return;
        }

        ref var leg = ref Leg(s);
        if (!leg.TryGrowSendWindow(frame.WindowIncrement))
        {
            StreamError(s, Http2ErrorCode.FlowControlError, "stream window above 2^31-1");
            return;
        }

        if (leg.Waiting)
        {
            Drain(s);
        }
    }

    /// <summary>
    /// Credits received stream bytes that the other leg sent on or dropped (<paramref name="dequeued"/>: they had
    /// been queued), unless the stream's receiving direction is <paramref name="over"/>.
    /// </summary>
    private protected void CreditReceived(Http2ProxyStream s, int count, bool dequeued, bool over)
    {
        if (dequeued)
        {
            Flow.Dequeued(Output, count);
        }

        if (over || count == 0 || Output is null)
        {
            return;
        }

        Leg(s).Credit(Output, count, Limits.StreamWindow);
    }

    /// <summary>
    /// Writes what the windows and the output allow of a stream's data at once (when <paramref name="canSend"/> and
    /// nothing is queued before it) and queues the rest, with the end of the direction; returns the bytes queued, or
    /// -1 when all was written.
    /// </summary>
    private protected long SendOrQueue(Http2ProxyStream s, in ReadOnlySequence<byte> data, bool endStream, bool canSend)
    {
        ref var leg = ref Leg(s);
        var queue = leg.Outbound;
        var written = 0L;
        if (canSend && !queue.HasWork && Output!.CanWriteData)
        {
            written = Math.Max(0, Math.Min(data.Length, Math.Min(leg.SendWindow, Flow.SendWindow)));
            var ends = endStream && written == data.Length;
            if (written > 0 || ends)
            {
                Http2Writes.Data(Output, leg.StreamId, data, written, ends, Peer.MaxFrameSize);
                leg.Sent(written);
                Flow.Sent(written);
                OnRelayed(s, (int)written, fromQueue: false);
                if (ends)
                {
                    OnSendEnded(s);
                    return -1;
                }
            }

            if (written == data.Length && !endStream)
            {
                return -1;
            }
        }

        var rest = data.Slice(written);
        if (rest.Length > 0)
        {
            queue.Append(rest);
        }

        queue.EndPending |= endStream;
        return rest.Length;
    }

    /// <summary>
    /// Ends a stream's direction with an encoded trailers block: written at once when <paramref name="canSend"/> and
    /// no data is queued before it, otherwise queued behind the data.
    /// </summary>
    private protected void SendOrQueueTrailers(Http2ProxyStream s, ReadOnlySpan<byte> block, bool canSend)
    {
        ref var leg = ref Leg(s);
        if (!canSend || leg.Outbound.HasWork)
        {
            leg.Outbound.SetTrailers(block);
            if (canSend)
            {
                Wait(s);
            }

            return;
        }

        Http2Writes.HeaderBlock(Output!, leg.StreamId, block, true, Peer.MaxFrameSize);
        OnSendEnded(s);
    }

    /// <summary>Sends what flow control and the output allow of a stream's queue, then its end once all is out.</summary>
    private protected void Drain(Http2ProxyStream s)
    {
        ref var leg = ref Leg(s);
        var q = leg.Outbound;
        var output = Output!;
        while (q.Length > 0 && output.CanWriteData)
        {
            var allowed = (int)Math.Min(Math.Min(leg.SendWindow, Flow.SendWindow), Peer.MaxFrameSize);
            if (allowed <= 0)
            {
                return;
            }

            var chunk = q.Peek(allowed);
            var last = q.EndPending && chunk.Length == q.Length && q.Trailers.IsEmpty;
            Http2Writes.Data(output, leg.StreamId, chunk, last, Peer.MaxFrameSize);
            var n = chunk.Length;
            leg.Sent(n);
            Flow.Sent(n);
            q.Consume(n);
            OnRelayed(s, n, fromQueue: true);
            if (last)
            {
                q.Clear();
                StopWaiting(s);
                OnSendEnded(s);
                return;
            }
        }

        if (q.Length == 0 && q.EndPending)
        {
            if (!q.Trailers.IsEmpty)
            {
                Http2Writes.HeaderBlock(output, leg.StreamId, q.Trailers, true, Peer.MaxFrameSize);
            }
            else
            {
                Http2Writes.Data(output, leg.StreamId, default, true, Peer.MaxFrameSize);
            }

            q.Clear();
            StopWaiting(s);
            OnSendEnded(s);
            return;
        }

        if (q.Length == 0)
        {
            StopWaiting(s);
        }
    }

    /// <summary>Puts a stream in the list of those waiting to send on this connection.</summary>
    private protected void Wait(Http2ProxyStream s)
    {
        ref var leg = ref Leg(s);
        if (!leg.Waiting)
        {
            leg.Waiting = true;
            Waiting.Add(s);
        }
    }

    /// <summary>Takes a stream off the waiting list.</summary>
    private protected void StopWaiting(Http2ProxyStream s)
    {
        ref var leg = ref Leg(s);
        if (leg.Waiting)
        {
            leg.Waiting = false;
            Waiting.Remove(s);
        }
    }

    /// <summary>This side's leg of a stream.</summary>
    private protected ref Http2StreamLeg Leg(Http2ProxyStream s) => ref s.Leg(_side);

    /// <summary>An upper bound of a header list's HPACK encoding.</summary>
    private protected static int EncodedSize(HeaderList list)
    {
        var size = 16;
        for (var i = 0; i < list.Count; i++)
        {
            size += HpackEncoder.MaxEncodedLength(list.Name(i).Length, list.Value(i).Length);
        }

        return size;
    }

    /// <summary>
    /// HPACK-encodes a list's fields into <paramref name="block"/> and returns the bytes written; with
    /// <paramref name="forwardedOnly"/>, pseudo-header and connection-specific fields (RFC 9113 §8.2.2) are left out.
    /// </summary>
    private protected static int EncodeFields(HeaderList list, Span<byte> block, bool forwardedOnly)
    {
        var n = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            if (forwardedOnly && ((name.Length > 0 && name[0] == ':') || Http2Messages.IsConnectionSpecific(name)))
            {
                continue;
            }

            n += HpackEncoder.Encode(name, list.Value(i), list.IsNeverIndexed(i), block[n..]);
        }

        return n;
    }

    private void OnFrame(in Http2Frame frame)
    {
        if (Headers.StreamId != 0 && frame.Type != Http2FrameType.Continuation)
        {
            ConnectionError(Http2ErrorCode.ProtocolError, "frame inside a header block");
            return;
        }

        if (!SettingsReceived && frame.Type != Http2FrameType.Settings)
        {
            // RFC 9113 §3.4: the preface is followed by a SETTINGS frame.
            ConnectionError(Http2ErrorCode.ProtocolError, _side == Http2Side.Client ? "the first frame is not SETTINGS" : "the upstream's first frame is not SETTINGS");
            return;
        }

        switch (frame.Type)
        {
            case Http2FrameType.Data:
                OnData(frame);
                break;
            case Http2FrameType.Headers:
                OnHeaders(frame);
                break;
            case Http2FrameType.Continuation:
                if (Headers.StreamId == 0 || frame.StreamId != Headers.StreamId)
                {
                    ConnectionError(Http2ErrorCode.ProtocolError, "CONTINUATION without an open header block");
                    return;
                }

                if (frame.Length == 0 && !frame.EndHeaders)
                {
                    CountControlFrame();
                }

                FeedBlock(frame.Payload, frame.EndHeaders);
                break;
            case Http2FrameType.Priority:
                OnPriority(frame);
                break;
            case Http2FrameType.RstStream:
                OnRstStream(frame);
                break;
            case Http2FrameType.Settings:
                OnSettings(frame);
                break;
            case Http2FrameType.PushPromise:
                // RFC 9113 §8.4: a client never pushes, and the proxy disabled push towards upstreams.
                ConnectionError(Http2ErrorCode.ProtocolError, _side == Http2Side.Client ? "PUSH_PROMISE from a client" : "PUSH_PROMISE although push is disabled");
                break;
            case Http2FrameType.Ping:
                CountControlFrame();
                if (!frame.IsAck)
                {
                    Http2Writes.PingAck(Output!, frame.PingData);
                    CheckOutput();
                }

                break;
            case Http2FrameType.WindowUpdate when frame.StreamId == 0:
                if (!Flow.TryGrowSendWindow(frame.WindowIncrement))
                {
                    ConnectionError(Http2ErrorCode.FlowControlError, "connection window above 2^31-1");
                    return;
                }

                // Streams held back by the connection window only may send now.
                OnOutputWritable();
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(frame);
                break;
            case Http2FrameType.GoAway:
                OnGoAway(frame);
                break;
            default:
                // Unknown frame types are ignored (RFC 9113 §4.1), but count towards the flood defence.
                CountControlFrame();
                break;
        }
    }

    private void OnSettings(in Http2Frame frame)
    {
        CountControlFrame();
        if (frame.IsAck)
        {
            return;
        }

        if (Peer.Apply(frame, Streams, _side) is { } overflow)
        {
            ConnectionError(Http2ErrorCode.FlowControlError, overflow);
            return;
        }

        Http2Writes.SettingsAck(Output!);
        SettingsReceived = true;
        OnPeerSettings();
    }
}
