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
internal sealed class Http2UpstreamSession : IFrameOutputOwner, IWatchedUpstream
{
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly Http2Route _route;
    private readonly Http2Limits _limits;
    private readonly Dictionary<int, Http2ProxyStream> _streams = [];
    private readonly List<Http2ProxyStream> _pendingOpen = [];
    private readonly List<Http2ProxyStream> _waiting = [];
    private readonly HeaderBlockReader _headers;
    private readonly HeaderList _responseHeaders;
    private Socket? _socket;
    private SocketFrameOutput? _output;
    private Http2ProxyStream? _blockStream;
    private bool _ready;
    private bool _settingsReceived;
    private bool _draining;
    private bool _closed;
    private int _nextStreamId = 1;
    private int _peerMaxConcurrentStreams = 100;
    private int _peerMaxFrameSize = Http2Constants.DefaultMaxFrameSize;
    private long _peerInitialWindow = Http2Constants.DefaultInitialWindowSize;
    private long _connectionSendWindow = Http2Constants.DefaultInitialWindowSize;
    private long _connectionReceiveWindow;
    private long _connectionReceiveCredit;
    private long _queuedResponseBytes;
    private long _idleSince;

    public Http2UpstreamSession(Http2Route route, uint identity)
    {
        _route = route;
        _limits = route.Limits;
        Identity = identity;
        // A response string longer than the response head limit could never be accepted: it is a decoding error.
        _headers = new HeaderBlockReader(new HpackDecoder(4096, _limits.MaxResponseHeaderListSize), _limits.MaxHeaderBlockBytes);
        _responseHeaders = new HeaderList(_limits.MaxResponseHeaderListSize, 1000);
    }

    /// <summary>The source identity its socket is marked with.</summary>
    public uint Identity { get; }

    /// <summary>True while new streams may be opened on it (not draining after GOAWAY, not closed).</summary>
    public bool AcceptsStreams => !_draining && !_closed;

    /// <summary>True when a new stream fits under the upstream's concurrency limit (assumed 100, RFC 9113 §6.5.2's
    /// recommended minimum, until its SETTINGS arrive).</summary>
    public bool HasFreeSlot => _streams.Count + _pendingOpen.Count < _peerMaxConcurrentStreams;

    /// <summary>Open and waiting streams.</summary>
    public int Load => _streams.Count + _pendingOpen.Count;

    /// <inheritdoc />
    public long DeadlineTicks
    {
        get
        {
            var deadline = long.MaxValue;
            if (_idleSince != 0)
            {
                deadline = _idleSince + (long)_limits.UpstreamIdleConnectionTimeout.TotalMilliseconds;
            }

            var sending = _output?.SendingSince ?? 0;
            if (sending != 0)
            {
                deadline = Math.Min(deadline, sending + (long)_limits.SendStallTimeout.TotalMilliseconds);
            }

            return deadline == long.MaxValue ? 0 : deadline;
        }
    }

    /// <summary>Starts connecting; streams opened meanwhile wait.</summary>
    public void Start() => _ = RunAsync();

    /// <inheritdoc />
    public void OnDeadline()
    {
        lock (_route.Gate)
        {
            var now = Environment.TickCount64;
            if (_output?.SendingSince is > 0 and var since && now > since + (long)_limits.SendStallTimeout.TotalMilliseconds)
            {
                Close("the upstream stopped reading (send stalled)", connectFailure: false);
            }
            else if (_idleSince != 0 && _streams.Count == 0 && _pendingOpen.Count == 0 && now > _idleSince + (long)_limits.UpstreamIdleConnectionTimeout.TotalMilliseconds)
            {
                if (_output is not null)
                {
                    Http2Writes.GoAway(_output, 0, Http2ErrorCode.NoError);
                    _output.Flush();
                }

                Close("idle", connectFailure: false);
            }

            _route.FlushTouched();
        }
    }

    /// <summary>Opens the upstream stream of an allowed request (or queues it until the connection is ready).</summary>
    public void Open(Http2ProxyStream s)
    {
        s.Upstream = this;
        _idleSince = 0;
        if (!_ready || _streams.Count >= _peerMaxConcurrentStreams)
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

        var opened = s.UpstreamStreamId != 0;
        var written = 0L;
        if (opened && !s.RequestQueue.HasWork && _output!.CanWriteData)
        {
            written = Math.Max(0, Math.Min(data.Length, Math.Min(s.UpstreamSendWindow, _connectionSendWindow)));
            var ends = endStream && written == data.Length;
            if (written > 0 || ends)
            {
                Http2Writes.Data(_output, s.UpstreamStreamId, data, written, ends, _peerMaxFrameSize);
                s.UpstreamSendWindow -= written;
                _connectionSendWindow -= written;
                client.CreditRequest(s, (int)written, dequeued: false);
                if (ends)
                {
                    s.RequestEndSent = true;
                    CheckDone(s);
                    return;
                }
            }

            if (written == data.Length && !endStream)
            {
                return;
            }
        }

        var rest = data.Slice(written);
        if (rest.Length > 0)
        {
            s.RequestQueue.Append(rest);
            client.RequestQueued((int)rest.Length);
        }

        s.RequestQueue.EndPending |= endStream;
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

        var block = _route.BlockBuffer(EncodedSize(trailers));
        var n = 0;
        for (var i = 0; i < trailers.Count; i++)
        {
            n += HpackEncoder.Encode(trailers.Name(i), trailers.Value(i), trailers.IsNeverIndexed(i), block.AsSpan(n));
        }

        if (s.UpstreamStreamId == 0 || s.RequestQueue.HasWork)
        {
            s.RequestQueue.SetTrailers(block.AsSpan(0, n));
            if (s.UpstreamStreamId != 0)
            {
                Wait(s);
            }

            return;
        }

        Http2Writes.HeaderBlock(_output!, s.UpstreamStreamId, block.AsSpan(0, n), true, _peerMaxFrameSize);
        s.RequestEndSent = true;
        CheckDone(s);
    }

    /// <summary>Response bytes left the proxy towards the client: credit the upstream's stream window.</summary>
    public void CreditResponse(Http2ProxyStream s, int count, bool dequeued = false)
    {
        if (dequeued)
        {
            ResponseDropped(count);
        }

        if (s.UpstreamClosed || s.UpstreamEnded || count == 0 || _output is null)
        {
            return;
        }

        s.UpstreamReceiveCredit += count;
        if (s.UpstreamReceiveCredit >= _limits.StreamWindow / 2)
        {
            Http2Writes.WindowUpdate(_output, s.UpstreamStreamId, s.UpstreamReceiveCredit);
            s.UpstreamReceiveWindow += s.UpstreamReceiveCredit;
            s.UpstreamReceiveCredit = 0;
        }
    }

    /// <summary>Response bytes the client side queued (they hold back the connection window past a limit).</summary>
    public void ResponseQueued(long count) => _queuedResponseBytes += count;

    /// <summary>Queued response bytes left the queue (sent or dropped).</summary>
    public void ResponseDropped(long count)
    {
        _queuedResponseBytes -= count;
        CreditConnection(0);
    }

    /// <summary>The client side gave up the stream: reset it upstream and forget it (no notification back).</summary>
    public void Cancel(Http2ProxyStream s)
    {
        if (s.UpstreamClosed)
        {
            return;
        }

        if (s.UpstreamStreamId != 0 && !(s.UpstreamEnded && s.RequestEndSent) && _output is not null && !_closed)
        {
            Http2Writes.RstStream(_output, s.UpstreamStreamId, Http2ErrorCode.Cancel);
        }

        CloseStream(s);
    }

    /// <summary>Closes the connection and fails its streams (the listener stops).</summary>
    public void Abort(string reason) => Close(reason, connectFailure: false);

    /// <inheritdoc />
    public void OnOutputWritable()
    {
        if (_waiting.Count == 0)
        {
            return;
        }

        for (var i = 0; i < _waiting.Count && _output!.CanWriteData && _connectionSendWindow > 0;)
        {
            var s = _waiting[i];
            DrainRequest(s);
            if (i < _waiting.Count && ReferenceEquals(_waiting[i], s))
            {
                i++;
            }
        }
    }

    /// <inheritdoc />
    public void OnOutputFailed(Exception? error) => Close(error is null ? "upstream connection closed" : $"writing to the upstream failed: {error.Message}", connectFailure: false);

    private async Task RunAsync()
    {
        Socket socket;
        try
        {
            socket = await UpstreamConnector.ConnectAsync(_route.Listener, _route.Representative, Identity, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is UpstreamConnectException or OperationCanceledException or SocketException)
        {
            lock (_route.Gate)
            {
                Close(e.Message, connectFailure: true);
                _route.FlushTouched();
            }

            return;
        }

        lock (_route.Gate)
        {
            if (_closed)
            {
                socket.Dispose();
                return;
            }

            _socket = socket;
            _output = new SocketFrameOutput(_route, this, socket, _limits.MaxOutputBytes);
            _output.Write(Http2Constants.ClientPreface);
            Span<(Http2Setting, uint)> settings =
            [
                (Http2Setting.EnablePush, 0),
                (Http2Setting.InitialWindowSize, (uint)_limits.StreamWindow),
                (Http2Setting.MaxHeaderListSize, (uint)_limits.MaxResponseHeaderListSize),
            ];
            _output.Advance(Http2FrameWriter.Settings(_output.GetSpan(Http2Constants.FrameHeaderLength + 6 * settings.Length), false, settings));
            Http2Writes.WindowUpdate(_output, 0, _limits.ConnectionWindow - Http2Constants.DefaultInitialWindowSize);
            _connectionReceiveWindow = _limits.ConnectionWindow;
            _route.FlushTouched();
        }

        _route.Listener.Server.Watchdog.Add(this);
        try
        {
            await ReadLoopAsync(socket).ConfigureAwait(false);
        }
        finally
        {
            _route.Listener.Server.Watchdog.Remove(this);
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
                lock (_route.Gate)
                {
                    if (!_closed)
                    {
                        start += Process(new ReadOnlySequence<byte>(buffer, start, end - start));
                    }

                    _route.FlushTouched();
                    if (_closed)
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

        lock (_route.Gate)
        {
            Close(failure ?? "upstream connection closed", connectFailure: false);
            _route.FlushTouched();
        }
    }

    private int Process(ReadOnlySequence<byte> buffer)
    {
        var total = buffer.Length;
        while (!_closed)
        {
            var status = Http2FrameReader.TryRead(buffer, Http2Constants.DefaultMaxFrameSize, out var frame, out var end, out var error);
            if (status == ParseStatus.NeedMoreData)
            {
                break;
            }

            if (status == ParseStatus.Rejected)
            {
                ConnectionError(error.Code, error.Message);
                break;
            }

            buffer = buffer.Slice(end);
            OnFrame(frame);
        }

        return (int)(total - buffer.Length);
    }

    private void OnFrame(in Http2Frame frame)
    {
        if (_headers.StreamId != 0 && frame.Type != Http2FrameType.Continuation)
        {
            ConnectionError(Http2ErrorCode.ProtocolError, "frame inside a header block");
            return;
        }

        if (!_settingsReceived && frame.Type != Http2FrameType.Settings)
        {
            ConnectionError(Http2ErrorCode.ProtocolError, "the upstream's first frame is not SETTINGS");
            return;
        }

        switch (frame.Type)
        {
            case Http2FrameType.Data:
                OnData(frame);
                break;
            case Http2FrameType.Headers:
                if ((frame.StreamId & 1) == 0 || frame.StreamId >= _nextStreamId)
                {
                    ConnectionError(Http2ErrorCode.ProtocolError, "HEADERS on a stream the proxy did not open");
                    return;
                }

                _blockStream = _streams.GetValueOrDefault(frame.StreamId);
                _headers.Begin(frame.StreamId, frame.EndStream, _responseHeaders);
                FeedBlock(frame.Payload, frame.EndHeaders);
                break;
            case Http2FrameType.Continuation:
                if (_headers.StreamId == 0 || frame.StreamId != _headers.StreamId)
                {
                    ConnectionError(Http2ErrorCode.ProtocolError, "CONTINUATION without an open header block");
                    return;
                }

                FeedBlock(frame.Payload, frame.EndHeaders);
                break;
            case Http2FrameType.RstStream:
                if (_streams.TryGetValue(frame.StreamId, out var reset))
                {
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

                break;
            case Http2FrameType.Settings:
                OnSettings(frame);
                break;
            case Http2FrameType.PushPromise:
                ConnectionError(Http2ErrorCode.ProtocolError, "PUSH_PROMISE although push is disabled");
                break;
            case Http2FrameType.Ping:
                if (!frame.IsAck)
                {
                    Http2Writes.PingAck(_output!, frame.PingData);
                }

                break;
            case Http2FrameType.GoAway:
                OnGoAway(frame);
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(frame);
                break;
        }
    }

    private void OnSettings(in Http2Frame frame)
    {
        if (frame.IsAck)
        {
            return;
        }

        for (var i = 0; i < frame.Length / 6; i++)
        {
            var (id, value) = Http2FrameReader.ReadSetting(frame.Payload, i);
            switch (id)
            {
                case Http2Setting.MaxConcurrentStreams:
                    _peerMaxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                    break;
                case Http2Setting.InitialWindowSize:
                {
                    var delta = value - _peerInitialWindow;
                    _peerInitialWindow = value;
                    foreach (var s in _streams.Values)
                    {
                        s.UpstreamSendWindow += delta;
                        if (s.UpstreamSendWindow > Http2Constants.MaxWindowSize)
                        {
                            ConnectionError(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window");
                            return;
                        }
                    }

                    break;
                }

                case Http2Setting.MaxFrameSize:
                    _peerMaxFrameSize = (int)value;
                    break;
            }
        }

        _settingsReceived = true;
        Http2Writes.SettingsAck(_output!);
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

    private void OnWindowUpdate(in Http2Frame frame)
    {
        if (frame.StreamId == 0)
        {
            _connectionSendWindow += frame.WindowIncrement;
            if (_connectionSendWindow > Http2Constants.MaxWindowSize)
            {
                ConnectionError(Http2ErrorCode.FlowControlError, "connection window above 2^31-1");
                return;
            }

            OnOutputWritable();
            return;
        }

        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            return;
        }

        if (frame.StreamError is not null || s.UpstreamSendWindow + frame.WindowIncrement > Http2Constants.MaxWindowSize)
        {
            Http2Writes.RstStream(_output!, s.UpstreamStreamId, frame.StreamError?.Code ?? Http2ErrorCode.FlowControlError);
            CloseStream(s);
            s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, "invalid WINDOW_UPDATE from the upstream", connectFailure: false);
            return;
        }

        s.UpstreamSendWindow += frame.WindowIncrement;
        if (s.WaitingOnUpstream)
        {
            DrainRequest(s);
        }
    }

    private void OnGoAway(in Http2Frame frame)
    {
        // RFC 9113 §6.8: streams above the last one were not processed and may be retried; the rest finish.
        _draining = true;
        var last = frame.LastStreamId;
        foreach (var s in _streams.Values.ToArray())
        {
            if (s.UpstreamStreamId > last)
            {
                CloseStream(s);
                s.Client.UpstreamFailed(s, Http2ErrorCode.RefusedStream, "upstream going away", connectFailure: false);
            }
        }

        MovePending();
        if (_streams.Count == 0)
        {
            Close("upstream sent GOAWAY", connectFailure: false);
        }
    }

    private void OnData(in Http2Frame frame)
    {
        _connectionReceiveWindow -= frame.Length;
        if (_connectionReceiveWindow < 0)
        {
            ConnectionError(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
            return;
        }

        CreditConnection(frame.Length);
        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            return;
        }

        if (!s.ResponseHeadersReceived || s.UpstreamEnded)
        {
            Http2Writes.RstStream(_output!, s.UpstreamStreamId, Http2ErrorCode.ProtocolError);
            CloseStream(s);
            s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, "DATA outside a response body from the upstream", connectFailure: false);
            return;
        }

        s.UpstreamReceiveWindow -= frame.Length;
        if (s.UpstreamReceiveWindow < 0)
        {
            Http2Writes.RstStream(_output!, s.UpstreamStreamId, Http2ErrorCode.FlowControlError);
            CloseStream(s);
            s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, "upstream DATA beyond the stream window", connectFailure: false);
            return;
        }

        var data = frame.Payload;
        var padding = frame.Length - (int)data.Length;
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
            ResponseQueued(queued);
        }

        if (frame.EndStream)
        {
            CheckDone(s);
        }
    }

    private void FeedBlock(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        var endStream = _headers.EndStream;
        var status = _headers.Feed(fragment, endHeaders);
        if (status == ParseStatus.Rejected)
        {
            ConnectionError(Http2ErrorCode.CompressionError, $"response header block: {_headers.Error}");
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
            FailStream(s, "upstream response head too large");
            return;
        }

        if (!s.ResponseHeadersReceived)
        {
            var status3 = Http2Messages.ValidateResponse(list, out var error);
            if (status3 < 0 || status3 == 101)
            {
                FailStream(s, $"invalid upstream response: {error ?? "101 over HTTP/2"}");
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
                FailStream(s, "invalid trailers from the upstream");
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

    private void FailStream(Http2ProxyStream s, string detail)
    {
        Http2Writes.RstStream(_output!, s.UpstreamStreamId, Http2ErrorCode.ProtocolError);
        CloseStream(s);
        s.Client.UpstreamFailed(s, Http2ErrorCode.InternalError, detail, connectFailure: false);
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

        s.UpstreamStreamId = id;
        _streams.Add(id, s);
        s.UpstreamSendWindow = _peerInitialWindow;
        s.UpstreamReceiveWindow = _limits.StreamWindow;
        var list = s.RequestHeaders;
        var head = s.Head;
        var block = _route.BlockBuffer(EncodedSize(list) + s.PathLength + 64);
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
        Http2Writes.HeaderBlock(_output!, id, block.AsSpan(0, n), end, _peerMaxFrameSize);
        if (end)
        {
            s.RequestEndSent = true;
        }
        else if (s.RequestQueue.HasWork)
        {
            Wait(s);
            DrainRequest(s);
        }
    }

    private void OpenPending()
    {
        while (_ready && !_closed && _pendingOpen.Count > 0 && _streams.Count < _peerMaxConcurrentStreams && !_draining)
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
            _route.UpstreamFor(Identity).Open(s);
        }
    }

    private void Wait(Http2ProxyStream s)
    {
        if (!s.WaitingOnUpstream)
        {
            s.WaitingOnUpstream = true;
            _waiting.Add(s);
        }
    }

    private void StopWaiting(Http2ProxyStream s)
    {
        if (s.WaitingOnUpstream)
        {
            s.WaitingOnUpstream = false;
            _waiting.Remove(s);
        }
    }

    /// <summary>Sends what flow control and the output allow of a stream's queued request.</summary>
    private void DrainRequest(Http2ProxyStream s)
    {
        var q = s.RequestQueue;
        var client = s.Client;
        while (q.Length > 0 && _output!.CanWriteData)
        {
            var allowed = (int)Math.Min(Math.Min(s.UpstreamSendWindow, _connectionSendWindow), _peerMaxFrameSize);
            if (allowed <= 0)
            {
                return;
            }

            var chunk = q.Peek(allowed);
            var last = q.EndPending && chunk.Length == q.Length && q.Trailers.IsEmpty;
            Http2Writes.Data(_output, s.UpstreamStreamId, chunk, last, _peerMaxFrameSize);
            s.UpstreamSendWindow -= chunk.Length;
            _connectionSendWindow -= chunk.Length;
            var n = chunk.Length;
            q.Consume(n);
            client.CreditRequest(s, n, dequeued: true);
            if (last)
            {
                q.Clear();
                StopWaiting(s);
                s.RequestEndSent = true;
                CheckDone(s);
                return;
            }
        }

        if (q.Length == 0 && q.EndPending)
        {
            if (!q.Trailers.IsEmpty)
            {
                Http2Writes.HeaderBlock(_output!, s.UpstreamStreamId, q.Trailers, true, _peerMaxFrameSize);
            }
            else
            {
                Http2Writes.Data(_output!, s.UpstreamStreamId, default, true, _peerMaxFrameSize);
            }

            q.Clear();
            StopWaiting(s);
            s.RequestEndSent = true;
            CheckDone(s);
            return;
        }

        if (q.Length == 0)
        {
            StopWaiting(s);
        }
    }

    private void CheckDone(Http2ProxyStream s)
    {
        if (s.UpstreamEnded && s.RequestEndSent && !s.UpstreamClosed)
        {
            CloseStream(s);
            s.Client.UpstreamDone(s);
        }
    }

    private void CreditConnection(int received)
    {
        _connectionReceiveCredit += received;
        if (_output is not null && _connectionReceiveCredit >= _limits.ConnectionWindow / 2 && _queuedResponseBytes < _limits.MaxQueuedBytes)
        {
            Http2Writes.WindowUpdate(_output, 0, (int)_connectionReceiveCredit);
            _connectionReceiveWindow += _connectionReceiveCredit;
            _connectionReceiveCredit = 0;
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
        if (s.UpstreamStreamId != 0)
        {
            _streams.Remove(s.UpstreamStreamId);
        }
        else
        {
            _pendingOpen.Remove(s);
        }

        StopWaiting(s);
        if (s.RequestQueue.Length > 0)
        {
            s.Client.RequestDropped(s.RequestQueue.Length);
        }

        s.RequestQueue.Clear();
        if (_streams.Count == 0 && _pendingOpen.Count == 0)
        {
            _idleSince = Environment.TickCount64;
            if (_draining && !_closed)
            {
                Close("drained after GOAWAY", connectFailure: false);
            }
        }
    }

    private void ConnectionError(Http2ErrorCode code, string message)
    {
        if (_closed)
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
        if (_closed)
        {
            return;
        }

        _closed = true;
        _draining = true;
        var failing = new List<Http2ProxyStream>(_streams.Values);
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

        _waiting.Clear();
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

        _route.RemoveUpstream(this);
    }

    private static int EncodedSize(HeaderList list)
    {
        var size = 16;
        for (var i = 0; i < list.Count; i++)
        {
            size += HpackEncoder.MaxEncodedLength(list.Name(i).Length, list.Value(i).Length);
        }

        return size;
    }
}
