using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Membrane.Policy.L7.Http;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2.Hpack;
using Membrane.Proxy.Listener;
using Microsoft.AspNetCore.Connections;

namespace Membrane.Proxy.Http2;

/// <summary>
/// The proxy's HTTP/2 server side for one client connection (h2c, prior knowledge): reads frames off Kestrel's
/// transport pipe, decides each stream on its own (policy per request, re-resolved when the revision moves), answers
/// denied and malformed requests itself, and relays allowed streams through the route's multiplexed upstream
/// connections with flow control on both legs. Defences: stream and header limits, CONTINUATION and control-frame
/// floods, rapid reset, timeouts for the preface, header blocks, idle connections and stalled sends.
/// All state is changed under the route's gate.
/// </summary>
internal sealed class Http2ClientSession : IFrameOutputOwner, IWatchedUpstream
{
    private const string Protocol = "HTTP/2";
    private static readonly byte[] DeniedBody = "Access denied\r\n"u8.ToArray();

    private readonly Http2Route _route;
    private readonly ClientConnection _connection;
    private readonly ConnectionContext _context;
    private readonly Http2Limits _limits;
    private readonly ProxyServerOptions _options;
    private readonly IL7EventSink _events;
    private readonly PipeFrameOutput _output;
    private readonly HeaderBlockReader _headers;
    private readonly HeaderList _trailers;
    private readonly Dictionary<int, Http2ProxyStream> _streams = [];
    private readonly List<Http2ProxyStream> _waiting = [];
    private readonly List<HttpHeaderAction> _actions = [];
    private readonly string?[] _urls = new string?[8];
    private readonly byte[] _deniedBody;

    private BlockKind _blockKind;
    private Http2ProxyStream? _blockStream;
    private Http2FrameError? _blockStreamError;
    private int _nextUrl;
    private int _lastStreamId;
    private bool _prefaceReceived;
    private bool _settingsReceived;
    private bool _closing;
    private bool _tornDown;
    private int _peerMaxFrameSize = Http2Constants.DefaultMaxFrameSize;
    private long _peerInitialWindow = Http2Constants.DefaultInitialWindowSize;
    private long _connectionSendWindow = Http2Constants.DefaultInitialWindowSize;
    private long _connectionReceiveWindow;
    private long _connectionReceiveCredit;
    private long _queuedRequestBytes;
    private long _streamsOpened;
    private long _prematureResets;
    private int _controlFrames;
    private long _controlWindowStart;
    private long _blockStarted;
    private long _idleSince;
    private long _settingsDeadline;

    private Http2ClientSession(Http2Route route, ClientConnection connection, ConnectionContext context)
    {
        _route = route;
        _connection = connection;
        _context = context;
        _limits = route.Limits;
        _options = route.Listener.Server.Options;
        _events = route.Listener.Server.Events;
        _output = new PipeFrameOutput(route, this, context.Transport.Output, _limits.MaxOutputBytes);
        _headers = new HeaderBlockReader(new HpackDecoder(4096, _limits.MaxHeaderStringLength), _limits.MaxHeaderBlockBytes);
        _trailers = new HeaderList(_limits.MaxRequestHeaderListSize, _limits.MaxRequestHeaderFields);
        _deniedBody = _options.DeniedBody == "Access denied\r\n" ? DeniedBody : System.Text.Encoding.UTF8.GetBytes(_options.DeniedBody);
    }

    private enum BlockKind
    {
        Request,
        Trailers,
        Discard,
    }

    /// <summary>The connection's identity and addresses.</summary>
    public ConnectionInfo Info => _connection.Info;

    /// <inheritdoc />
    public long DeadlineTicks
    {
        get
        {
            var deadline = long.MaxValue;
            if (_settingsDeadline != 0)
            {
                deadline = Math.Min(deadline, _settingsDeadline);
            }

            if (_blockStarted != 0)
            {
                deadline = Math.Min(deadline, _blockStarted + (long)_options.RequestHeadersTimeout.TotalMilliseconds);
            }

            if (_idleSince != 0)
            {
                deadline = Math.Min(deadline, _idleSince + (long)_options.KeepAliveTimeout.TotalMilliseconds);
            }

            var sending = _output.SendingSince;
            if (sending != 0)
            {
                deadline = Math.Min(deadline, sending + (long)_limits.SendStallTimeout.TotalMilliseconds);
            }

            return deadline == long.MaxValue ? 0 : deadline;
        }
    }

    /// <summary>Serves one HTTP/2 client connection until it ends.</summary>
    public static Task RunAsync(ListenerRuntime listener, ConnectionContext context, ClientConnection connection)
    {
        var route = listener.Http2Routes.Join(connection.Info);
        return new Http2ClientSession(route, connection, context).RunAsync();
    }

    /// <inheritdoc />
    public void OnDeadline()
    {
        lock (_route.Gate)
        {
            var now = Environment.TickCount64;
            if (_settingsDeadline != 0 && now > _settingsDeadline)
            {
                ConnectionError(Http2ErrorCode.SettingsTimeout, "no SETTINGS frame after the preface in time");
            }
            else if (_blockStarted != 0 && now > _blockStarted + (long)_options.RequestHeadersTimeout.TotalMilliseconds)
            {
                ConnectionError(Http2ErrorCode.ProtocolError, "header block not completed in time");
            }
            else if (_output.SendingSince != 0 && now > _output.SendingSince + (long)_limits.SendStallTimeout.TotalMilliseconds)
            {
                Abort("the client stopped reading (send stalled)");
            }
            else if (_idleSince != 0 && now > _idleSince + (long)_options.KeepAliveTimeout.TotalMilliseconds)
            {
                GoAwayAndClose(Http2ErrorCode.NoError);
            }

            _route.FlushTouched();
        }
    }

    /// <inheritdoc />
    public void OnOutputWritable()
    {
        if (_waiting.Count == 0 || _tornDown)
        {
            return;
        }

        for (var i = 0; i < _waiting.Count && _output.CanWriteData && _connectionSendWindow > 0;)
        {
            var s = _waiting[i];
            DrainResponse(s);
            if (i < _waiting.Count && ReferenceEquals(_waiting[i], s))
            {
                i++;
            }
        }
    }

    /// <inheritdoc />
    public void OnOutputFailed(Exception? error) => Abort(error is null ? "the client connection closed" : $"writing to the client failed: {error.Message}");

    /// <summary>Writes response HEADERS from the upstream (final or informational) to the client.</summary>
    public void SendResponseHeaders(Http2ProxyStream s, HeaderList list, int status, bool endStream)
    {
        if (s.ClientClosed)
        {
            return;
        }

        var informational = status < 200;
        var block = _route.BlockBuffer(EncodedSize(list) + 8);
        var n = HpackEncoder.EncodeStatus(status, block);
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            if ((name.Length > 0 && name[0] == ':') || Http2Messages.IsConnectionSpecific(name))
            {
                continue;
            }

            n += HpackEncoder.Encode(name, list.Value(i), list.IsNeverIndexed(i), block.AsSpan(n));
        }

        Http2Writes.HeaderBlock(_output, s.ClientStreamId, block.AsSpan(0, n), endStream, _peerMaxFrameSize);
        if (informational)
        {
            return;
        }

        s.ResponseStarted = true;
        s.Status = status;
        if (endStream)
        {
            OnResponseEnded(s);
        }
    }

    /// <summary>
    /// Relays response DATA from the upstream, or queues it while the client's window or buffer is full; returns the
    /// bytes queued.
    /// </summary>
    public long SendResponseData(Http2ProxyStream s, in ReadOnlySequence<byte> data, bool endStream)
    {
        if (s.ClientClosed)
        {
            s.Upstream?.CreditResponse(s, (int)data.Length);
            return 0;
        }

        var written = 0L;
        if (!s.ResponseQueue.HasWork && _output.CanWriteData)
        {
            written = Math.Max(0, Math.Min(data.Length, Math.Min(s.ClientSendWindow, _connectionSendWindow)));
            var ends = endStream && written == data.Length;
            if (written > 0 || ends)
            {
                Http2Writes.Data(_output, s.ClientStreamId, data, written, ends, _peerMaxFrameSize);
                s.ClientSendWindow -= written;
                _connectionSendWindow -= written;
                s.Upstream?.CreditResponse(s, (int)written);
                if (ends)
                {
                    OnResponseEnded(s);
                    return 0;
                }
            }

            if (written == data.Length && !endStream)
            {
                return 0;
            }
        }

        var rest = data.Slice(written);
        s.ResponseQueue.Append(rest);
        s.ResponseQueue.EndPending |= endStream;
        Wait(s);
        return rest.Length;
    }

    /// <summary>Relays the upstream's trailers (ending the response), after any response data still queued.</summary>
    public void SendResponseTrailers(Http2ProxyStream s, HeaderList list)
    {
        if (s.ClientClosed)
        {
            return;
        }

        var block = _route.BlockBuffer(EncodedSize(list));
        var n = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var name = list.Name(i);
            if ((name.Length > 0 && name[0] == ':') || Http2Messages.IsConnectionSpecific(name))
            {
                continue;
            }

            n += HpackEncoder.Encode(name, list.Value(i), list.IsNeverIndexed(i), block.AsSpan(n));
        }

        if (s.ResponseQueue.HasWork)
        {
            s.ResponseQueue.SetTrailers(block.AsSpan(0, n));
            Wait(s);
            return;
        }

        Http2Writes.HeaderBlock(_output, s.ClientStreamId, block.AsSpan(0, n), true, _peerMaxFrameSize);
        OnResponseEnded(s);
    }

    /// <summary>
    /// The upstream side of a stream failed (upstream reset, connection lost, refused): before the response started
    /// the client gets an error response of its own (or REFUSED_STREAM, which it may retry), after it the stream is reset.
    /// </summary>
    public void UpstreamFailed(Http2ProxyStream s, Http2ErrorCode code, string detail, bool connectFailure)
    {
        if (s.ClientClosed)
        {
            Release(s);
            return;
        }

        if (!s.ResponseStarted)
        {
            if (code == Http2ErrorCode.RefusedStream && s.RequestBodyBytes == 0)
            {
                // Nothing was processed upstream (RFC 9113 §8.7): the client may retry it safely.
                ResetStream(s, Http2ErrorCode.RefusedStream);
                return;
            }

            var status = connectFailure ? 503 : 502;
            LocalResponse(s, status, 14, connectFailure ? "upstream connect error" : "upstream reset", L7Verdict.Error, detail);
            return;
        }

        _events.Publish(EventFactory.ProtocolError(Info, s.Policy, $"upstream stream failed: {detail}", Protocol) with { HttpMethod = s.Method, HttpUrl = s.Url });
        ResetStream(s, code == Http2ErrorCode.NoError ? Http2ErrorCode.InternalError : code);
    }

    /// <summary>The upstream reset its stream after ending the response (early closure): pass the reset on once the
    /// response is out, so the client stops sending its request.</summary>
    public void UpstreamClosedAfterResponse(Http2ProxyStream s)
    {
        if (s.ClientClosed)
        {
            Release(s);
            return;
        }

        if (s.ResponseEnded && !s.RequestEnded)
        {
            s.RequestEnded = true;
            Http2Writes.RstStream(_output, s.ClientStreamId, Http2ErrorCode.NoError);
        }

        MaybeCloseClientSide(s);
    }

    /// <summary>The upstream side finished normally (both directions ended).</summary>
    public void UpstreamDone(Http2ProxyStream s)
    {
        if (s.ClientClosed)
        {
            Release(s);
        }
    }

    /// <summary>Request bytes left the proxy towards the upstream (or were dropped): credit the client's windows.</summary>
    public void CreditRequest(Http2ProxyStream s, int count, bool dequeued)
    {
        if (dequeued)
        {
            _queuedRequestBytes -= count;
            CreditConnection(0);
        }

        if (s.ClientClosed || s.RequestEnded || count == 0)
        {
            return;
        }

        s.ClientReceiveCredit += count;
        if (s.ClientReceiveCredit >= _limits.StreamWindow / 2)
        {
            Http2Writes.WindowUpdate(_output, s.ClientStreamId, s.ClientReceiveCredit);
            s.ClientReceiveWindow += s.ClientReceiveCredit;
            s.ClientReceiveCredit = 0;
        }
    }

    /// <summary>Counts request bytes queued for a slow upstream (they hold back the connection window past a limit).</summary>
    public void RequestQueued(int count) => _queuedRequestBytes += count;

    /// <summary>Queued request bytes were dropped (the upstream side closed).</summary>
    public void RequestDropped(long count)
    {
        _queuedRequestBytes -= count;
        CreditConnection(0);
    }

    /// <summary>Stops the connection at once (no GOAWAY): its streams are cancelled upstream.</summary>
    public void Abort(string reason)
    {
        if (_closing)
        {
            return;
        }

        _events.Publish(EventFactory.ProtocolError(Info, null, reason, Protocol));
        _closing = true;
        _context.Transport.Input.CancelPendingRead();
        _context.Abort();
    }

    private async Task RunAsync()
    {
        var server = _route.Listener.Server;
        server.Watchdog.Add(this);
        var input = _context.Transport.Input;
        try
        {
            lock (_route.Gate)
            {
                Start();
                _route.FlushTouched();
            }

            while (true)
            {
                ReadResult result;
                try
                {
                    result = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ConnectionResetException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
                {
                    break;
                }

                var buffer = result.Buffer;
                lock (_route.Gate)
                {
                    if (!_closing)
                    {
                        Process(ref buffer);
                    }

                    _route.FlushTouched();
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled || _closing)
                {
                    break;
                }
            }
        }
        finally
        {
            server.Watchdog.Remove(this);
            lock (_route.Gate)
            {
                Teardown();
                _route.FlushTouched();
            }
        }
    }

    private void Start()
    {
        Span<(Http2Setting, uint)> settings =
        [
            (Http2Setting.MaxConcurrentStreams, (uint)_limits.MaxConcurrentStreams),
            (Http2Setting.InitialWindowSize, (uint)_limits.StreamWindow),
            (Http2Setting.MaxHeaderListSize, (uint)_limits.MaxRequestHeaderListSize),
        ];
        _output.Advance(Http2FrameWriter.Settings(_output.GetSpan(Http2Constants.FrameHeaderLength + 6 * settings.Length), false, settings));
        Http2Writes.WindowUpdate(_output, 0, _limits.ConnectionWindow - Http2Constants.DefaultInitialWindowSize);
        _connectionReceiveWindow = _limits.ConnectionWindow;
        var now = Environment.TickCount64;
        _settingsDeadline = now + (long)_options.RequestHeadersTimeout.TotalMilliseconds;
        _idleSince = now;
        _controlWindowStart = now;
    }

    private void Process(ref ReadOnlySequence<byte> buffer)
    {
        if (!_prefaceReceived)
        {
            if (buffer.Length < Http2Constants.ClientPreface.Length)
            {
                return;
            }

            Span<byte> preface = stackalloc byte[24];
            buffer.Slice(0, 24).CopyTo(preface);
            if (!preface.SequenceEqual(Http2Constants.ClientPreface))
            {
                ConnectionError(Http2ErrorCode.ProtocolError, "invalid connection preface");
                return;
            }

            buffer = buffer.Slice(24);
            _prefaceReceived = true;
        }

        while (!_closing)
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

    private void OnFrame(in Http2Frame frame)
    {
        if (_headers.StreamId != 0 && frame.Type != Http2FrameType.Continuation)
        {
            ConnectionError(Http2ErrorCode.ProtocolError, "frame inside a header block");
            return;
        }

        if (!_settingsReceived && frame.Type != Http2FrameType.Settings)
        {
            // RFC 9113 §3.4: the preface is followed by a SETTINGS frame.
            ConnectionError(Http2ErrorCode.ProtocolError, "the first frame is not SETTINGS");
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
                OnContinuation(frame);
                break;
            case Http2FrameType.Priority:
                Control();
                if (frame.StreamError is { } priorityError && _streams.TryGetValue(frame.StreamId, out var prioritized))
                {
                    StreamError(prioritized, priorityError.Code, priorityError.Message);
                }

                break;
            case Http2FrameType.RstStream:
                OnRstStream(frame);
                break;
            case Http2FrameType.Settings:
                OnSettings(frame);
                break;
            case Http2FrameType.PushPromise:
                ConnectionError(Http2ErrorCode.ProtocolError, "PUSH_PROMISE from a client");
                break;
            case Http2FrameType.Ping:
                Control();
                if (!frame.IsAck)
                {
                    Http2Writes.PingAck(_output, frame.PingData);
                    CheckOutput();
                }

                break;
            case Http2FrameType.GoAway:
                // The client leaves: it opens nothing more; what is open finishes, then it closes the connection.
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(frame);
                break;
            default:
                Control();
                break;
        }
    }

    private void OnSettings(in Http2Frame frame)
    {
        Control();
        if (frame.IsAck)
        {
            return;
        }

        for (var i = 0; i < frame.Length / 6; i++)
        {
            var (id, value) = Http2FrameReader.ReadSetting(frame.Payload, i);
            switch (id)
            {
                case Http2Setting.InitialWindowSize:
                {
                    // §6.9.2: the change applies to every open stream's send window, which may go negative.
                    var delta = value - _peerInitialWindow;
                    _peerInitialWindow = value;
                    foreach (var s in _streams.Values)
                    {
                        s.ClientSendWindow += delta;
                        if (s.ClientSendWindow > Http2Constants.MaxWindowSize)
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

        Http2Writes.SettingsAck(_output);
        _settingsReceived = true;
        _settingsDeadline = 0;
        CheckOutput();
    }

    private void OnWindowUpdate(in Http2Frame frame)
    {
        if (frame.StreamId == 0)
        {
            _connectionSendWindow += frame.WindowIncrement;
            if (_connectionSendWindow > Http2Constants.MaxWindowSize)
            {
                ConnectionError(Http2ErrorCode.FlowControlError, "connection window above 2^31-1");
            }

            return;
        }

        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            if (frame.StreamId > _lastStreamId)
            {
                ConnectionError(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream");
            }
            else
            {
                Control();
            }

            return;
        }

        if (frame.StreamError is { } error)
        {
            StreamError(s, error.Code, error.Message);
            return;
        }

        s.ClientSendWindow += frame.WindowIncrement;
        if (s.ClientSendWindow > Http2Constants.MaxWindowSize)
        {
            StreamError(s, Http2ErrorCode.FlowControlError, "stream window above 2^31-1");
            return;
        }

        if (s.WaitingOnClient)
        {
            DrainResponse(s);
        }
    }

    private void OnRstStream(in Http2Frame frame)
    {
        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            if (frame.StreamId > _lastStreamId)
            {
                ConnectionError(Http2ErrorCode.ProtocolError, "RST_STREAM on an idle stream");
            }

            return;
        }

        if (!s.ResponseEnded)
        {
            _prematureResets++;
            if (_prematureResets >= _limits.MaxPrematureResets && _prematureResets * 2 >= _streamsOpened)
            {
                // Rapid reset (CVE-2023-44487): most streams are opened only to be cancelled.
                ConnectionError(Http2ErrorCode.EnhanceYourCalm, "too many streams reset by the client (rapid reset)");
                return;
            }
        }

        CloseClientSide(s, cancelUpstream: true);
    }

    private void OnHeaders(in Http2Frame frame)
    {
        var id = frame.StreamId;
        _blockStreamError = frame.StreamError;
        _blockStarted = Environment.TickCount64;
        if (_streams.TryGetValue(id, out var existing))
        {
            // A second HEADERS on an open stream carries the request's trailers and must end it (RFC 9113 §8.1).
            _blockKind = existing.RequestEnded ? BlockKind.Discard : BlockKind.Trailers;
            _blockStream = existing;
            if (existing.RequestEnded)
            {
                _blockStreamError = new Http2FrameError(Http2ErrorCode.StreamClosed, false, "HEADERS after the end of the request");
            }
            else if (!frame.EndStream)
            {
                _blockStreamError = new Http2FrameError(Http2ErrorCode.ProtocolError, false, "trailers without END_STREAM");
            }

            _headers.Begin(id, frame.EndStream, _trailers);
        }
        else if ((id & 1) == 0 || id <= _lastStreamId)
        {
            ConnectionError((id & 1) == 0 ? Http2ErrorCode.ProtocolError : Http2ErrorCode.StreamClosed, "HEADERS on a closed or even-numbered stream");
            return;
        }
        else
        {
            _lastStreamId = id;
            _streamsOpened++;
            var s = _route.RentStream();
            s.Client = this;
            s.ClientStreamId = id;
            s.Started = Stopwatch.GetTimestamp();
            _blockKind = BlockKind.Request;
            _blockStream = s;
            _headers.Begin(id, frame.EndStream, s.RequestHeaders);
        }

        FeedBlock(frame.Payload, frame.EndHeaders);
    }

    private void OnContinuation(in Http2Frame frame)
    {
        if (_headers.StreamId == 0 || frame.StreamId != _headers.StreamId)
        {
            ConnectionError(Http2ErrorCode.ProtocolError, "CONTINUATION without an open header block");
            return;
        }

        if (frame.Length == 0 && !frame.EndHeaders)
        {
            Control();
        }

        FeedBlock(frame.Payload, frame.EndHeaders);
    }

    private void FeedBlock(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        var endStream = _headers.EndStream;
        var status = _headers.Feed(fragment, endHeaders);
        if (status == ParseStatus.Rejected)
        {
            ConnectionError(_headers.Error!.Contains("flood", StringComparison.Ordinal) ? Http2ErrorCode.EnhanceYourCalm : Http2ErrorCode.CompressionError, $"request header block: {_headers.Error}");
            if (_blockKind == BlockKind.Request && _blockStream is { } abandoned)
            {
                _route.ReturnStream(abandoned);
            }

            _blockStream = null;
            return;
        }

        if (status != ParseStatus.Complete)
        {
            return;
        }

        _blockStarted = 0;
        var s = _blockStream!;
        _blockStream = null;
        switch (_blockKind)
        {
            case BlockKind.Request:
                OnRequestHead(s, endStream);
                break;
            case BlockKind.Trailers:
                if (_blockStreamError is { } trailerError)
                {
                    StreamError(s, trailerError.Code, trailerError.Message);
                }
                else
                {
                    OnRequestTrailers(s);
                }

                break;
            default:
                if (_blockStreamError is { } discardError && !s.ClientClosed)
                {
                    StreamError(s, discardError.Code, discardError.Message);
                }

                break;
        }
    }

    private void OnRequestHead(Http2ProxyStream s, bool endStream)
    {
        var list = s.RequestHeaders;
        if (_closing)
        {
            _route.ReturnStream(s);
            return;
        }

        if (_streams.Count >= _limits.MaxConcurrentStreams)
        {
            // §5.1.2: past SETTINGS_MAX_CONCURRENT_STREAMS; refused streams count as resets for the rapid-reset defence.
            Http2Writes.RstStream(_output, s.ClientStreamId, Http2ErrorCode.RefusedStream);
            _route.ReturnStream(s);
            _prematureResets++;
            if (_prematureResets >= _limits.MaxPrematureResets && _prematureResets * 2 >= _streamsOpened)
            {
                ConnectionError(Http2ErrorCode.EnhanceYourCalm, "too many streams over the concurrency limit");
            }

            return;
        }

        _streams.Add(s.ClientStreamId, s);
        _idleSince = 0;
        s.ClientReceiveWindow = _limits.StreamWindow;
        s.ClientSendWindow = _peerInitialWindow;
        s.RequestEnded = endStream;
        s.UpstreamClosed = true;
        s.Status = 0;
        if (_blockStreamError is { } priorityError)
        {
            StreamError(s, priorityError.Code, priorityError.Message);
            return;
        }

        var policy = _connection.CurrentPolicy();
        s.Policy = policy;
        if (!policy.L4Allowed)
        {
            // A policy change revoked the connection itself: nothing more is served on it.
            _events.Publish(EventFactory.ConnectionDenied(Info, policy));
            StreamError(s, Http2ErrorCode.RefusedStream, null);
            GoAwayAndClose(Http2ErrorCode.NoError);
            return;
        }

        if (list.OverLimit)
        {
            var grpcOverLimit = list.IndexOf("content-type"u8) is var ct and >= 0 && list.Value(ct).StartsWith("application/grpc"u8);
            s.Head.IsGrpc = grpcOverLimit;
            RejectRequest(s, 431, 13, "Request Header Fields Too Large", "request header fields exceed the limit");
            return;
        }

        if (Http2Messages.ValidateRequest(list, out s.Head) is { } malformed)
        {
            // RFC 9113 §8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR.
            _events.Publish(EventFactory.ProtocolError(Info, policy, $"malformed request: {malformed}", Protocol));
            StreamError(s, Http2ErrorCode.ProtocolError, null);
            return;
        }

        var head = s.Head;
        s.Method = KnownMethods.Intern(list.Value(head.Method));
        if (head.IsConnect)
        {
            RejectRequest(s, 405, 12, "Method Not Allowed", "CONNECT is not proxied");
            return;
        }

        var rawPath = list.Value(head.Path);
        var raw = _route.PathChars(rawPath.Length);
        for (var i = 0; i < rawPath.Length; i++)
        {
            raw[i] = (char)rawPath[i];
        }

        var normalized = _route.NormalizedChars();
        var error = rawPath.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0
            ? "non-ASCII byte in the request target"
            : PathNormalizer.Normalize(raw.AsSpan(0, rawPath.Length), normalized, out var length) ?? Store(s, normalized, length);
        if (error is not null)
        {
            RejectRequest(s, 400, 13, "Bad Request", error, new string(raw, 0, rawPath.Length));
            return;
        }

        var authority = head.Authority >= 0 ? list.Value(head.Authority) : head.Host >= 0 ? list.Value(head.Host) : default;
        var host = _route.HostChars(authority.Length);
        for (var i = 0; i < authority.Length; i++)
        {
            host[i] = (char)authority[i];
        }

        var path = normalized.AsSpan(0, s.PathLength);
        var view = new Http2HeaderView(list, _route.ValueChars);
        _actions.Clear();
        var decision = RequestGate.Decide(policy, s.Method, path, host.AsSpan(0, authority.Length), ref view, _actions);
        s.Decision = decision;
        s.Url = Url(host.AsSpan(0, authority.Length), path);
        _events.Publish(new L7Event
        {
            Kind = L7EventKind.HttpRequest,
            TimestampUnixNs = EventFactory.NowUnixNs(),
            Connection = Info,
            Policy = policy,
            Verdict = decision.Allowed ? L7Verdict.Forwarded : L7Verdict.Denied,
            DecidedBy = decision.DecidedBy,
            DeniedDirection = decision.DeniedDirection,
            HttpMethod = s.Method,
            HttpUrl = s.Url,
            HttpProtocol = Protocol,
            GrpcStatus = -1,
        });

        if (!decision.Allowed)
        {
            LocalResponse(s, 403, 7, "Access denied", L7Verdict.Forwarded, null);
            return;
        }

        if (_actions.Count > 0)
        {
            ApplyHeaderActions(list);
        }

        s.UpstreamClosed = false;
        var upstream = _route.UpstreamFor(policy.Source.Identity);
        upstream.Open(s);
    }

    private static string? Store(Http2ProxyStream s, char[] normalized, int length)
    {
        s.SetPath(normalized.AsSpan(0, length));
        return null;
    }

    private void OnRequestTrailers(Http2ProxyStream s)
    {
        var malformed = _trailers.OverLimit ? "over the limit" : Http2Messages.ValidateTrailers(_trailers);
        if (malformed is not null)
        {
            _events.Publish(EventFactory.ProtocolError(Info, s.Policy, $"malformed request trailers: {malformed}", Protocol));
            StreamError(s, Http2ErrorCode.ProtocolError, null);
            return;
        }

        if (!CheckContentLength(s))
        {
            return;
        }

        s.RequestEnded = true;
        if (s.Local || s.UpstreamClosed)
        {
            MaybeCloseClientSide(s);
            return;
        }

        s.Upstream!.SendRequestTrailers(s, _trailers);
    }

    private void OnData(in Http2Frame frame)
    {
        _connectionReceiveWindow -= frame.Length;
        if (_connectionReceiveWindow < 0)
        {
            ConnectionError(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
            return;
        }

        // The connection window is credited as data arrives: the stream windows bound what is buffered per stream,
        // and a session stops crediting once it holds MaxQueuedBytes for slow upstreams.
        CreditConnection(frame.Length);
        if (!_streams.TryGetValue(frame.StreamId, out var s))
        {
            if (frame.StreamId > _lastStreamId)
            {
                ConnectionError(Http2ErrorCode.ProtocolError, "DATA on an idle stream");
            }

            return;
        }

        if (s.RequestEnded)
        {
            if (s.Local)
            {
                return;
            }

            StreamError(s, Http2ErrorCode.StreamClosed, "DATA after the end of the request");
            return;
        }

        s.ClientReceiveWindow -= frame.Length;
        if (s.ClientReceiveWindow < 0)
        {
            StreamError(s, Http2ErrorCode.FlowControlError, "DATA beyond the stream window");
            return;
        }

        var data = frame.Payload;
        var padding = frame.Length - (int)data.Length;
        if (data.IsEmpty && !frame.EndStream)
        {
            Control();
        }

        s.RequestBodyBytes += data.Length;
        if (s.Head.ContentLength >= 0 && s.RequestBodyBytes > s.Head.ContentLength)
        {
            StreamError(s, Http2ErrorCode.ProtocolError, "request body longer than its content-length");
            return;
        }

        if (frame.EndStream)
        {
            if (!CheckContentLength(s))
            {
                return;
            }

            s.RequestEnded = true;
        }

        if (s.Local || s.UpstreamClosed)
        {
            // Answered by the proxy: the body is dropped (and credited so the client is never stuck).
            CreditRequest(s, (int)data.Length + padding, dequeued: false);
            MaybeCloseClientSide(s);
            return;
        }

        if (padding > 0)
        {
            CreditRequest(s, padding, dequeued: false);
        }

        s.Upstream!.SendRequestData(s, data, frame.EndStream);
    }

    private bool CheckContentLength(Http2ProxyStream s)
    {
        if (s.Head.ContentLength >= 0 && s.RequestBodyBytes != s.Head.ContentLength)
        {
            // RFC 9113 §8.1.1: content-length that does not match the DATA received makes the request malformed.
            StreamError(s, Http2ErrorCode.ProtocolError, "request body shorter than its content-length");
            return false;
        }

        return true;
    }

    private void CreditConnection(int received)
    {
        _connectionReceiveCredit += received;
        if (_connectionReceiveCredit >= _limits.ConnectionWindow / 2 && _queuedRequestBytes < _limits.MaxQueuedBytes)
        {
            Http2Writes.WindowUpdate(_output, 0, (int)_connectionReceiveCredit);
            _connectionReceiveWindow += _connectionReceiveCredit;
            _connectionReceiveCredit = 0;
        }
    }

    private void ApplyHeaderActions(HeaderList list)
    {
        Span<byte> name = stackalloc byte[256];
        foreach (var a in _actions)
        {
            if (a.Name.Length > name.Length || a.Action == HeaderMismatchAction.Log)
            {
                continue;
            }

            // HTTP/2 field names are lower case (RFC 9113 §8.2.1).
            var n = name[..a.Name.Length];
            for (var i = 0; i < n.Length; i++)
            {
                n[i] = (byte)char.ToLowerInvariant(a.Name[i]);
            }

            if (a.Action is HeaderMismatchAction.Delete or HeaderMismatchAction.Replace)
            {
                for (var i = list.IndexOf(n); i >= 0; i = list.IndexOf(n, i + 1))
                {
                    list.Remove(i);
                }
            }

            if (a.Action is HeaderMismatchAction.Add or HeaderMismatchAction.Replace)
            {
                list.Add(n, System.Text.Encoding.UTF8.GetBytes(a.Value ?? ""));
            }
        }
    }

    private string Url(ReadOnlySpan<char> host, ReadOnlySpan<char> path)
    {
        var hostPart = host.IsEmpty ? Info.OriginalDestination.ToString().AsSpan() : host;
        var length = 7 + hostPart.Length + path.Length;
        foreach (var cached in _urls)
        {
            if (cached is not null && cached.Length == length && cached.AsSpan(7, hostPart.Length).SequenceEqual(hostPart) && cached.AsSpan(7 + hostPart.Length).SequenceEqual(path))
            {
                return cached;
            }
        }

        var url = string.Concat("http://", hostPart, path);
        _urls[_nextUrl] = url;
        _nextUrl = (_nextUrl + 1) % _urls.Length;
        return url;
    }

    /// <summary>Answers a request the proxy rejects (400, 405, 431) and records the error.</summary>
    private void RejectRequest(Http2ProxyStream s, int status, int grpcStatus, string message, string detail, string? rawTarget = null)
    {
        _events.Publish(EventFactory.ProtocolError(Info, s.Policy, detail, Protocol) with { HttpMethod = s.Method.Length > 0 ? s.Method : null, HttpUrl = rawTarget, HttpStatus = status });
        LocalResponse(s, status, grpcStatus, message, L7Verdict.Error, detail, publish: false);
    }

    /// <summary>
    /// The proxy's own answer: for gRPC a trailers-only response (one HEADERS frame with END_STREAM: :status 200,
    /// content-type, grpc-status, grpc-message, as Cilium's Envoy sends; protocol-facts §5), otherwise the status with
    /// a text body. If the client is still sending, RST_STREAM(NO_ERROR) follows the response (gRPC's early closure).
    /// </summary>
    private void LocalResponse(Http2ProxyStream s, int status, int grpcStatus, string message, L7Verdict verdict, string? detail, bool publish = true)
    {
        s.Local = true;
        s.ResponseVerdictError = verdict == L7Verdict.Error;
        s.ResponseDetail = detail;
        s.PublishResponse = publish;
        if (s.Upstream is not null && !s.UpstreamClosed)
        {
            s.Upstream.Cancel(s);
        }

        s.UpstreamClosed = true;
        s.RequestQueue.Clear();
        var block = _route.BlockBuffer(128 + message.Length * 3);
        int n;
        if (s.Head.IsGrpc)
        {
            n = HpackEncoder.EncodeStatus(200, block);
            n += HpackEncoder.EncodeWithStaticName(HpackStaticTable.ContentType, "application/grpc"u8, block.AsSpan(n));
            Span<byte> digits = stackalloc byte[4];
            System.Buffers.Text.Utf8Formatter.TryFormat(grpcStatus, digits, out var d);
            n += HpackEncoder.Encode("grpc-status"u8, digits[..d], false, block.AsSpan(n));
            n += HpackEncoder.Encode("grpc-message"u8, GrpcMessage(message), false, block.AsSpan(n));
            s.GrpcStatus = grpcStatus;
            s.Status = 200;
            s.ResponseStarted = true;
            Http2Writes.HeaderBlock(_output, s.ClientStreamId, block.AsSpan(0, n), true, _peerMaxFrameSize);
            OnResponseEnded(s);
            return;
        }

        var body = status == 403 ? _deniedBody : System.Text.Encoding.ASCII.GetBytes(message + "\r\n");
        n = HpackEncoder.EncodeStatus(status, block);
        n += HpackEncoder.EncodeWithStaticName(HpackStaticTable.ContentType, "text/plain"u8, block.AsSpan(n));
        Span<byte> length = stackalloc byte[12];
        System.Buffers.Text.Utf8Formatter.TryFormat(body.Length, length, out var l);
        n += HpackEncoder.EncodeWithStaticName(HpackStaticTable.ContentLength, length[..l], block.AsSpan(n));
        s.Status = status;
        s.ResponseStarted = true;
        Http2Writes.HeaderBlock(_output, s.ClientStreamId, block.AsSpan(0, n), false, _peerMaxFrameSize);
        SendResponseData(s, new ReadOnlySequence<byte>(body), endStream: true);
    }

    private static ReadOnlySpan<byte> GrpcMessage(string message) => message switch
    {
        // grpc-message is percent-encoded UTF-8 (gRPC PROTOCOL-HTTP2.md); these are all plain ASCII.
        "Access denied" => "Access denied"u8,
        "Bad Request" => "Bad Request"u8,
        "upstream connect error" => "upstream connect error"u8,
        "upstream reset" => "upstream reset"u8,
        "Method Not Allowed" => "Method Not Allowed"u8,
        _ => "Request Header Fields Too Large"u8,
    };

    private void Wait(Http2ProxyStream s)
    {
        if (!s.WaitingOnClient)
        {
            s.WaitingOnClient = true;
            _waiting.Add(s);
        }
    }

    private void StopWaiting(Http2ProxyStream s)
    {
        if (s.WaitingOnClient)
        {
            s.WaitingOnClient = false;
            _waiting.Remove(s);
        }
    }

    /// <summary>Sends what flow control and the output allow of a stream's queued response.</summary>
    private void DrainResponse(Http2ProxyStream s)
    {
        var q = s.ResponseQueue;
        while (q.Length > 0 && _output.CanWriteData)
        {
            var allowed = (int)Math.Min(Math.Min(s.ClientSendWindow, _connectionSendWindow), _peerMaxFrameSize);
            if (allowed <= 0)
            {
                return;
            }

            var chunk = q.Peek(allowed);
            var last = q.EndPending && chunk.Length == q.Length && q.Trailers.IsEmpty;
            Http2Writes.Data(_output, s.ClientStreamId, chunk, last, _peerMaxFrameSize);
            s.ClientSendWindow -= chunk.Length;
            _connectionSendWindow -= chunk.Length;
            var n = chunk.Length;
            q.Consume(n);
            s.Upstream?.CreditResponse(s, n, dequeued: !s.Local);
            if (last)
            {
                q.Clear();
                StopWaiting(s);
                OnResponseEnded(s);
                return;
            }
        }

        if (q.Length == 0 && q.EndPending)
        {
            if (!q.Trailers.IsEmpty)
            {
                Http2Writes.HeaderBlock(_output, s.ClientStreamId, q.Trailers, true, _peerMaxFrameSize);
            }
            else
            {
                Http2Writes.Data(_output, s.ClientStreamId, default, true, _peerMaxFrameSize);
            }

            q.Clear();
            StopWaiting(s);
            OnResponseEnded(s);
            return;
        }

        if (q.Length == 0)
        {
            StopWaiting(s);
        }
    }

    private void OnResponseEnded(Http2ProxyStream s)
    {
        if (s.ResponseEnded)
        {
            return;
        }

        s.ResponseEnded = true;
        if (s.PublishResponse)
        {
            _events.Publish(new L7Event
            {
                Kind = L7EventKind.HttpResponse,
                TimestampUnixNs = EventFactory.NowUnixNs(),
                Connection = Info,
                Policy = s.Policy,
                Verdict = s.ResponseVerdictError ? L7Verdict.Error : L7Verdict.Forwarded,
                DecidedBy = s.Decision.DecidedBy,
                DeniedDirection = s.Decision.DeniedDirection,
                Detail = s.ResponseDetail,
                HttpMethod = s.Method,
                HttpUrl = s.Url,
                HttpProtocol = Protocol,
                HttpStatus = s.Status,
                GrpcStatus = s.GrpcStatus,
                LatencyNs = (long)Stopwatch.GetElapsedTime(s.Started).TotalNanoseconds,
            });
        }

        if (!s.RequestEnded && (s.Local || s.UpstreamClosed))
        {
            // The proxy's own answer while the client still sends: gRPC's early closure (protocol-facts §5).
            s.RequestEnded = true;
            Http2Writes.RstStream(_output, s.ClientStreamId, Http2ErrorCode.NoError);
        }

        MaybeCloseClientSide(s);
    }

    private void MaybeCloseClientSide(Http2ProxyStream s)
    {
        if (s.RequestEnded && s.ResponseEnded && !s.ResponseQueue.HasWork)
        {
            CloseClientSide(s);
        }
    }

    /// <summary>Resets a stream towards the client and cancels its upstream side.</summary>
    private void ResetStream(Http2ProxyStream s, Http2ErrorCode code)
    {
        if (!s.ClientClosed)
        {
            Http2Writes.RstStream(_output, s.ClientStreamId, code);
        }

        CloseClientSide(s, cancelUpstream: true);
    }

    /// <summary>A stream error (RFC 9113 §5.4.2): RST_STREAM to the client, the upstream side cancelled.</summary>
    private void StreamError(Http2ProxyStream s, Http2ErrorCode code, string? detail)
    {
        if (detail is not null)
        {
            _events.Publish(EventFactory.ProtocolError(Info, s.Policy, detail, Protocol) with { HttpMethod = s.Method.Length > 0 ? s.Method : null, HttpUrl = s.Url.Length > 0 ? s.Url : null });
        }

        ResetStream(s, code);
    }

    private void CloseClientSide(Http2ProxyStream s, bool cancelUpstream = false)
    {
        if (s.ClientClosed)
        {
            return;
        }

        s.ClientClosed = true;
        s.RequestEnded = true;
        _streams.Remove(s.ClientStreamId);
        StopWaiting(s);

        if (s.ResponseQueue.Length > 0 && !s.Local)
        {
            s.Upstream?.ResponseDropped(s.ResponseQueue.Length);
        }

        s.ResponseQueue.Clear();
        if (cancelUpstream && !s.UpstreamClosed)
        {
            s.Upstream?.Cancel(s);
            s.UpstreamClosed = true;
        }

        if (_streams.Count == 0)
        {
            _idleSince = Environment.TickCount64;
        }

        Release(s);
    }

    /// <summary>Returns a stream to the pool once both sides are done with it.</summary>
    public void Release(Http2ProxyStream s)
    {
        if (s.ClientClosed && s.UpstreamClosed && s.Client == this)
        {
            _route.ReturnStream(s);
        }
    }

    private void Control()
    {
        var now = Environment.TickCount64;
        if (now - _controlWindowStart > 1000)
        {
            _controlWindowStart = now;
            _controlFrames = 0;
        }

        if (++_controlFrames > _limits.MaxControlFramesPerSecond)
        {
            ConnectionError(Http2ErrorCode.EnhanceYourCalm, "too many frames without payload (flood)");
        }
    }

    private void CheckOutput()
    {
        if (_output.IsOverflowing)
        {
            Abort("the client does not read what it asks for (output over the limit)");
        }
    }

    private void ConnectionError(Http2ErrorCode code, string message)
    {
        if (_closing)
        {
            return;
        }

        _events.Publish(EventFactory.ProtocolError(Info, null, message, Protocol));
        GoAwayAndClose(code);
    }

    private void GoAwayAndClose(Http2ErrorCode code)
    {
        if (_closing)
        {
            return;
        }

        Http2Writes.GoAway(_output, _lastStreamId, code);
        _closing = true;
        _context.Transport.Input.CancelPendingRead();
    }

    private void Teardown()
    {
        if (_tornDown)
        {
            return;
        }

        _tornDown = true;
        _closing = true;
        foreach (var s in _streams.Values.ToArray())
        {
            CloseClientSide(s, cancelUpstream: true);
        }

        _waiting.Clear();
        _route.RemoveClient();
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
