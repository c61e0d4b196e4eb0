using System.Buffers;
using System.Net.Sockets;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;
using Membrane.Proxy.Listener;

namespace Membrane.Proxy.Http2;

/// <summary>
/// The proxy's HTTP/2 client side: one connection to an upstream (h2c, prior knowledge), marked with one source
/// identity, carrying the streams of every client connection of its route that has that identity. It sends requests
/// encoded with the static table and literals only, decodes responses with the full HPACK decoder, relays DATA both
/// ways under the upstream's and the client's flow control, and opens further connections when the upstream's
/// SETTINGS_MAX_CONCURRENT_STREAMS is reached (<see cref="Http2Route.UpstreamFor"/>). All state is changed under the
/// route's gate.
/// </summary>
internal sealed class Http2UpstreamSession : Http2Connection, IWatchedUpstream
{
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly List<Http2ProxyStream> _pendingOpen = [];
    private readonly HeaderList _responseHeaders;
    private Socket? _socket;
    private SocketFrameOutput? _output;
    private Http2ProxyStream? _blockStream;
    private bool _ready;
    private bool _draining;
    private int _nextStreamId = 1;
    private long _idleSince;
    private string? _closeReason;
    private bool _closedByConnectFailure;

    /// <summary>Creates the session of <paramref name="identity"/> on <paramref name="route"/>; <see cref="Start"/> connects.</summary>
    public Http2UpstreamSession(Http2Route route, uint identity)
        // A response string longer than the response head limit could never be accepted: it is a decoding error.
        : base(route, Http2Side.Upstream, new HeaderBlockReader(new HpackDecoder(4096, route.Limits.MaxResponseHeaderListSize), route.Limits.MaxHeaderBlockBytes))
    {
        Identity = identity;
        _responseHeaders = new HeaderList(Limits.MaxResponseHeaderListSize, 1000);
    }

    /// <summary>The source identity its socket is marked with.</summary>
    public uint Identity { get; }

    /// <summary>True while new streams may be opened on it (not draining after GOAWAY, not closed).</summary>
    public bool AcceptsStreams => !_draining && !Closing;

    /// <summary>True when a new stream fits under the upstream's concurrency limit (assumed 100, RFC 9113 §6.5.2's
    /// recommended minimum, until its SETTINGS arrive).</summary>
    public bool HasFreeSlot => Streams.Count + _pendingOpen.Count < Peer.MaxConcurrentStreams;

    /// <summary>Open and waiting streams.</summary>
    public int Load => Streams.Count + _pendingOpen.Count;

    /// <inheritdoc />
    public long DeadlineTicks
    {
        get
        {
            var deadline = long.MaxValue;
            if (_idleSince != 0)
            {
                deadline = _idleSince + (long)Limits.UpstreamIdleConnectionTimeout.TotalMilliseconds;
            }

            var sending = _output?.SendingSince ?? 0;
            if (sending != 0)
            {
                deadline = Math.Min(deadline, sending + (long)Limits.SendStallTimeout.TotalMilliseconds);
            }

            return deadline == long.MaxValue ? 0 : deadline;
        }
    }

    /// <summary>Starts connecting; streams opened meanwhile wait.</summary>
    public void Start() => _ = RunAsync();

    /// <inheritdoc />
    public void OnDeadline()
    {
        lock (Route.Gate)
        {
            var now = Environment.TickCount64;
            if (_output?.SendingSince is > 0 and var since && now > since + (long)Limits.SendStallTimeout.TotalMilliseconds)
            {
                Close("the upstream stopped reading (send stalled)", connectFailure: false);
            }
            else if (_idleSince != 0 && Streams.Count == 0 && _pendingOpen.Count == 0 && now > _idleSince + (long)Limits.UpstreamIdleConnectionTimeout.TotalMilliseconds)
            {
                if (_output is not null)
                {
                    Http2Writes.GoAway(_output, 0, Http2ErrorCode.NoError);
                    _output.Flush();
                }

                Close("idle", connectFailure: false);
            }

            Route.FlushTouched();
        }
    }

    /// <summary>Opens the upstream stream of an allowed request (or queues it until the connection is ready).</summary>
    public void Open(Http2ProxyStream s)
    {
        s.Upstream = this;
        if (Closing)
        {
            // The connect can fail synchronously inside Start (a refused loopback connect completes at once), so the
            // session handed out by the route may already be closed: fail the stream as a pending one would be.
            CloseStream(s);
            s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, _closeReason ?? "upstream connection closed", _closedByConnectFailure);
            return;
        }

        _idleSince = 0;
        if (!_ready || Streams.Count >= Peer.MaxConcurrentStreams)
        {
            _pendingOpen.Add(s);
            return;
        }

        SendHeaders(s);
    }

    /// <summary>Relays request DATA, or queues it while the upstream's window or our buffer is full.</summary>
    public void SendRequestData(Http2ProxyStream s, in ReadOnlySequence<byte> data, bool endStream)
    {
        var client = s.Client;
        if (s.UpstreamClosed)
        {
            client.CreditRequest(s, (int)data.Length, dequeued: false);
            return;
        }

        var opened = s.UpstreamLeg.StreamId != 0;
        var queued = SendOrQueue(s, data, endStream, canSend: opened);
        if (queued < 0)
        {
            return;
        }

        if (queued > 0)
        {
            client.ReceivedBytesQueued(queued);
        }

        if (opened)
        {
            Wait(s);
        }
    }

    /// <summary>Relays request trailers (ending the request) after any data still queued.</summary>
    public void SendRequestTrailers(Http2ProxyStream s, HeaderList trailers)
    {
        if (s.UpstreamClosed)
        {
            return;
        }

        var block = Route.BlockBuffer(EncodedSize(trailers));
        var n = EncodeFields(trailers, block, forwardedOnly: false);
        SendOrQueueTrailers(s, block.AsSpan(0, n), canSend: s.UpstreamLeg.StreamId != 0);
    }

    /// <summary>Response bytes left the proxy towards the client: credit the upstream's stream window.</summary>
    public void CreditResponse(Http2ProxyStream s, int count, bool dequeued = false) =>
        CreditReceived(s, count, dequeued, over: s.UpstreamClosed || s.UpstreamEnded);

    /// <summary>The client side gave up the stream: reset it upstream and forget it (no notification back).</summary>
    public void Cancel(Http2ProxyStream s)
    {
        if (s.UpstreamClosed)
        {
            return;
        }

        if (s.UpstreamLeg.StreamId != 0 && !(s.UpstreamEnded && s.RequestEndSent) && _output is not null && !Closing)
        {
            Http2Writes.RstStream(_output, s.UpstreamLeg.StreamId, Http2ErrorCode.Cancel);
        }

        CloseStream(s);
    }

    /// <summary>Closes the connection and fails its streams (the listener stops).</summary>
    public void Abort(string reason) => Close(reason, connectFailure: false);

    /// <inheritdoc />
    public override void OnOutputFailed(Exception? error) => Close(error is null ? "upstream connection closed" : $"writing to the upstream failed: {error.Message}", connectFailure: false);

    private async Task RunAsync()
    {
        Socket socket;
        try
        {
            socket = await UpstreamConnector.ConnectAsync(Route.Listener, Route.Representative, Identity, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is UpstreamConnectException or OperationCanceledException or SocketException)
        {
            lock (Route.Gate)
            {
                Close(e.Message, connectFailure: true);
                Route.FlushTouched();
            }

            return;
        }

        lock (Route.Gate)
        {
            if (Closing)
            {
                socket.Dispose();
                return;
            }

            _socket = socket;
            _output = new SocketFrameOutput(Route, this, socket, Limits.MaxOutputBytes);
            Output = _output;
            _output.Write(Http2Constants.ClientPreface);
            Span<(Http2Setting, uint)> settings =
            [
                (Http2Setting.EnablePush, 0),
                (Http2Setting.InitialWindowSize, (uint)Limits.StreamWindow),
                (Http2Setting.MaxHeaderListSize, (uint)Limits.MaxResponseHeaderListSize),
            ];
            WriteOpening(settings);
            Route.FlushTouched();
        }

        Route.Listener.Server.Watchdog.Add(this);
        try
        {
            await ReadLoopAsync(socket).ConfigureAwait(false);
        }
        finally
        {
            Route.Listener.Server.Watchdog.Remove(this);
        }
    }

    private async Task ReadLoopAsync(Socket socket)
    {
        var buffer = new byte[ReceiveBufferSize];
        var start = 0;
        var end = 0;
        string? failure = null;
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    failure = "upstream closed the connection";
                    break;
                }

                end += n;
                lock (Route.Gate)
                {
                    if (!Closing)
                    {
                        start += Process(new ReadOnlySequence<byte>(buffer, start, end - start));
                    }

                    Route.FlushTouched();
                    if (Closing)
                    {
                        return;
                    }
                }

                if (start == end)
                {
                    start = end = 0;
                }
                else if (buffer.Length - end < Http2Constants.DefaultMaxFrameSize + Http2Constants.FrameHeaderLength)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            failure = $"upstream connection failed: {e.Message}";
        }

        lock (Route.Gate)
        {
            Close(failure ?? "upstream connection closed", connectFailure: false);
            Route.FlushTouched();
        }
    }

    private int Process(ReadOnlySequence<byte> buffer)
    {
        var total = buffer.Length;
        ProcessFrames(ref buffer);
        return (int)(total - buffer.Length);
    }

    /// <inheritdoc />
    private protected override void OnHeaders(in Http2Frame frame)
    {
        if ((frame.StreamId & 1) == 0 || frame.StreamId >= _nextStreamId)
        {
            ConnectionError(Http2ErrorCode.ProtocolError, "HEADERS on a stream the proxy did not open");
            return;
        }

        _blockStream = Streams.GetValueOrDefault(frame.StreamId);
        Headers.Begin(frame.StreamId, frame.EndStream, _responseHeaders);
        FeedBlock(frame.Payload, frame.EndHeaders);
    }

    /// <inheritdoc />
    private protected override void OnRstStream(in Http2Frame frame)
    {
        if (!Streams.TryGetValue(frame.StreamId, out var reset))
        {
            return;
        }

        CloseStream(reset);
        if (reset.UpstreamEnded)
        {
            reset.Client.UpstreamClosedAfterResponse(reset);
        }
        else
        {
            reset.Client.UpstreamFailed(reset, frame.ErrorCode, $"upstream reset the stream ({frame.ErrorCode})", connectFailure: false);
        }
    }

    /// <inheritdoc />
    private protected override void OnPeerSettings()
    {
        if (!_ready)
        {
            // Streams wait for the upstream's first SETTINGS: its concurrency limit and windows apply from the start.
            _ready = true;
            OpenPending();
            if (_pendingOpen.Count > 0 && !_draining)
            {
                // More streams waited than the upstream takes at once: the rest go to other connections.
                MovePending();
            }
        }
        else
        {
            OpenPending();
        }

        OnOutputWritable();
    }

    /// <inheritdoc />
    private protected override void OnWindowUpdate(in Http2Frame frame)
    {
        if (!Streams.TryGetValue(frame.StreamId, out var s))
        {
            return;
        }

        OnStreamWindowUpdate(s, frame);
    }

    /// <inheritdoc />
    private protected override void OnGoAway(in Http2Frame frame)
    {
        // RFC 9113 §6.8: streams above the last one were not processed and may be retried; the rest finish.
        _draining = true;
        var last = frame.LastStreamId;
        foreach (var s in Streams.Values.ToArray())
        {
            if (s.UpstreamLeg.StreamId > last)
            {
                CloseStream(s);
                s.Client.UpstreamFailed(s, Http2ErrorCode.RefusedStream, "upstream going away", connectFailure: false);
            }
        }

        MovePending();
        if (Streams.Count == 0)
        {
            Close("upstream sent GOAWAY", connectFailure: false);
        }
    }

    /// <inheritdoc />
    private protected override void OnData(in Http2Frame frame)
    {
        if (!ReceiveData(frame))
        {
            return;
        }

        if (!Streams.TryGetValue(frame.StreamId, out var s))
        {
            return;
        }

        if (!s.ResponseHeadersReceived || s.UpstreamEnded)
        {
            StreamError(s, Http2ErrorCode.ProtocolError, "DATA outside a response body from the upstream");
            return;
        }

        if (!ReceiveStreamData(s, frame, out var padding))
        {
            return;
        }

        var data = frame.Payload;
        if (padding > 0)
        {
            CreditResponse(s, padding);
        }

        if (frame.EndStream)
        {
            s.UpstreamEnded = true;
        }

        var queued = s.Client.SendResponseData(s, data, frame.EndStream);
        if (queued > 0)
        {
            ReceivedBytesQueued(queued);
        }

        if (frame.EndStream)
        {
            CheckDone(s);
        }
    }

    /// <inheritdoc />
    private protected override void FeedBlock(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        var endStream = Headers.EndStream;
        var status = Headers.Feed(fragment, endHeaders);
        if (status == ParseStatus.Rejected)
        {
            ConnectionError(Http2ErrorCode.CompressionError, $"response header block: {Headers.Error}");
            return;
        }

        if (status != ParseStatus.Complete)
        {
            return;
        }

        var s = _blockStream;
        _blockStream = null;
        if (s is null || s.UpstreamClosed)
        {
            return;
        }

        var list = _responseHeaders;
        if (list.OverLimit)
        {
            StreamError(s, Http2ErrorCode.ProtocolError, "upstream response head too large");
            return;
        }

        if (!s.ResponseHeadersReceived)
        {
            var status3 = Http2Messages.ValidateResponse(list, out var error);
            if (status3 < 0 || status3 == 101)
            {
                StreamError(s, Http2ErrorCode.ProtocolError, $"invalid upstream response: {error ?? "101 over HTTP/2"}");
                return;
            }

            if (status3 < 200)
            {
                if (!endStream)
                {
                    s.Client.SendResponseHeaders(s, list, status3, false);
                }

                return;
            }

            s.ResponseHeadersReceived = true;
            s.GrpcStatus = Http2Messages.GrpcStatus(list);
            if (endStream)
            {
                s.UpstreamEnded = true;
            }

            s.Client.SendResponseHeaders(s, list, status3, endStream);
        }
        else
        {
            if (!endStream || Http2Messages.ValidateTrailers(list) is not null)
            {
                StreamError(s, Http2ErrorCode.ProtocolError, "invalid trailers from the upstream");
                return;
            }

            var grpc = Http2Messages.GrpcStatus(list);
            if (grpc >= 0)
            {
                s.GrpcStatus = grpc;
            }

            s.UpstreamEnded = true;
            s.Client.SendResponseTrailers(s, list);
        }

        if (endStream)
        {
            CheckDone(s);
        }
    }

    /// <summary>A stream error from the upstream (RFC 9113 §5.4.2): RST_STREAM to it, the client side told.</summary>
    private protected override void StreamError(Http2ProxyStream s, Http2ErrorCode code, string? detail)
    {
        Http2Writes.RstStream(_output!, s.UpstreamLeg.StreamId, code);
        CloseStream(s);
        s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, detail ?? code.ToString(), connectFailure: false);
    }

    private void SendHeaders(Http2ProxyStream s)
    {
        var id = _nextStreamId;
        _nextStreamId += 2;
        if (_nextStreamId > int.MaxValue - 2)
        {
            // Stream ids are exhausted (RFC 9113 §5.1.1): further streams go to a new connection.
            _draining = true;
        }

        OpenLeg(s, id);
        Streams.Add(id, s);
        var list = s.RequestHeaders;
        var head = s.Head;
        var block = Route.BlockBuffer(EncodedSize(list) + s.PathLength + 64);
        var n = HpackEncoder.Encode(":method"u8, list.Value(head.Method), false, block);
        n += HpackEncoder.Encode(":scheme"u8, list.Value(head.Scheme), false, block.AsSpan(n));
        var authority = head.Authority >= 0 ? head.Authority : head.Host;
        if (authority >= 0)
        {
            n += HpackEncoder.EncodeWithStaticName(HpackStaticTable.Authority, list.Value(authority), block.AsSpan(n));
        }

        n += HpackEncoder.EncodeWithStaticName(HpackStaticTable.PathRoot, s.Path.AsSpan(0, s.PathLength), block.AsSpan(n));
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            if (list.IsRemoved(i) || name[0] == ':' || name.SequenceEqual("host"u8))
            {
                continue;
            }

            n += HpackEncoder.Encode(name, list.Value(i), list.IsNeverIndexed(i), block.AsSpan(n));
        }

        var end = s.RequestEnded && !s.RequestQueue.HasWork;
        Http2Writes.HeaderBlock(_output!, id, block.AsSpan(0, n), end, Peer.MaxFrameSize);
        if (end)
        {
            s.RequestEndSent = true;
        }
        else if (s.RequestQueue.HasWork)
        {
            Wait(s);
            Drain(s);
        }
    }

    private void OpenPending()
    {
        while (_ready && !Closing && _pendingOpen.Count > 0 && Streams.Count < Peer.MaxConcurrentStreams && !_draining)
        {
            var s = _pendingOpen[0];
            _pendingOpen.RemoveAt(0);
            SendHeaders(s);
        }

        if (_draining)
        {
            MovePending();
        }
    }

    private void MovePending()
    {
        if (_pendingOpen.Count == 0)
        {
            return;
        }

        var moving = _pendingOpen.ToArray();
        _pendingOpen.Clear();
        foreach (var s in moving)
        {
            Route.UpstreamFor(Identity).Open(s);
        }
    }

    /// <inheritdoc />
    private protected override void OnRelayed(Http2ProxyStream s, int count, bool fromQueue) =>
        s.Client.CreditRequest(s, count, dequeued: fromQueue);

    /// <inheritdoc />
    private protected override void OnSendEnded(Http2ProxyStream s)
    {
        s.RequestEndSent = true;
        CheckDone(s);
    }

    private void CheckDone(Http2ProxyStream s)
    {
        if (s.UpstreamEnded && s.RequestEndSent && !s.UpstreamClosed)
        {
            CloseStream(s);
            s.Client.UpstreamDone(s);
        }
    }

    /// <summary>Forgets a stream on this connection (its upstream side is over).</summary>
    private void CloseStream(Http2ProxyStream s)
    {
        if (s.UpstreamClosed)
        {
            return;
        }

        s.UpstreamClosed = true;
        if (s.UpstreamLeg.StreamId != 0)
        {
            Streams.Remove(s.UpstreamLeg.StreamId);
        }
        else
        {
            _pendingOpen.Remove(s);
        }

        StopWaiting(s);
        if (s.RequestQueue.Length > 0)
        {
            s.Client.ReceivedBytesReleased(s.RequestQueue.Length);
        }

        s.RequestQueue.Clear();
        if (Streams.Count == 0 && _pendingOpen.Count == 0)
        {
            _idleSince = Environment.TickCount64;
            if (_draining && !Closing)
            {
                Close("drained after GOAWAY", connectFailure: false);
            }
        }
    }

    /// <inheritdoc />
    private protected override void ConnectionError(Http2ErrorCode code, string message)
    {
        if (Closing)
        {
            return;
        }

        if (_output is not null)
        {
            Http2Writes.GoAway(_output, 0, code);
            _output.Flush();
        }

        Close($"upstream protocol error: {message}", connectFailure: false);
    }

    private void Close(string reason, bool connectFailure)
    {
        if (Closing)
        {
            return;
        }

        Closing = true;
        _draining = true;
        _closeReason = reason;
        _closedByConnectFailure = connectFailure;
        var failing = new List<Http2ProxyStream>(Streams.Values);
        failing.AddRange(_pendingOpen);
        foreach (var s in failing)
        {
            var complete = s.UpstreamEnded;
            CloseStream(s);
            if (complete)
            {
                s.Client.UpstreamDone(s);
            }
            else
            {
                s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, reason, connectFailure);
            }
        }

        Waiting.Clear();
        if (_output is not null)
        {
            // What was already buffered (a GOAWAY) is sent before the socket closes.
            _output.Flush();
            _output.Close();
        }
        else
        {
            _socket?.Dispose();
        }

        Route.RemoveUpstream(this);
    }
}
