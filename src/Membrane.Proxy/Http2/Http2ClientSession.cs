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
internal sealed class Http2ClientSession : Http2Connection, IWatchedUpstream
{
    private const string Protocol = "HTTP/2";
    private static readonly byte[] DeniedBody = "Access denied\r\n"u8.ToArray();

    private readonly ClientConnection _connection;
    private readonly ConnectionContext _context;
    private readonly ProxyServerOptions _options;
    private readonly IL7EventSink _events;
    private readonly PipeFrameOutput _output;
    private readonly HeaderList _trailers;
    private readonly List<HttpHeaderAction> _actions = [];
    private readonly string?[] _urls = new string?[8];
    private readonly byte[] _deniedBody;

    private BlockKind _blockKind;
    private Http2ProxyStream? _blockStream;
    private Http2FrameError? _blockStreamError;
    private int _nextUrl;
    private int _lastStreamId;
    private bool _prefaceReceived;
    private bool _tornDown;
    private long _streamsOpened;
    private long _prematureResets;
    private int _controlFrames;
    private long _controlWindowStart;
    private long _blockStarted;
    private long _idleSince;
    private long _settingsDeadline;

    private Http2ClientSession(Http2Route route, ClientConnection connection, ConnectionContext context)
        : base(route, Http2Side.Client, new HeaderBlockReader(new HpackDecoder(4096, route.Limits.MaxHeaderStringLength), route.Limits.MaxHeaderBlockBytes))
    {
        _connection = connection;
        _context = context;
        _options = route.Listener.Server.Options;
        _events = route.Listener.Server.Events;
        _output = new PipeFrameOutput(route, this, context.Transport.Output, Limits.MaxOutputBytes);
        Output = _output;
        _trailers = new HeaderList(Limits.MaxRequestHeaderListSize, Limits.MaxRequestHeaderFields);
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
                deadline = Math.Min(deadline, sending + (long)Limits.SendStallTimeout.TotalMilliseconds);
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
        lock (Route.Gate)
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
            else if (_output.SendingSince != 0 && now > _output.SendingSince + (long)Limits.SendStallTimeout.TotalMilliseconds)
            {
                Abort("the client stopped reading (send stalled)");
            }
            else if (_idleSince != 0 && now > _idleSince + (long)_options.KeepAliveTimeout.TotalMilliseconds)
            {
                GoAwayAndClose(Http2ErrorCode.NoError);
            }

            Route.FlushTouched();
        }
    }

    /// <inheritdoc />
    public override void OnOutputFailed(Exception? error) => Abort(error is null ? "the client connection closed" : $"writing to the client failed: {error.Message}");

    /// <summary>Writes response HEADERS from the upstream (final or informational) to the client.</summary>
    public void SendResponseHeaders(Http2ProxyStream s, HeaderList list, int status, bool endStream)
    {
        if (s.ClientClosed)
        {
            return;
        }

        var informational = status < 200;
        var block = Route.BlockBuffer(EncodedSize(list) + 8);
        var n = HpackEncoder.EncodeStatus(status, block);
        n += EncodeFields(list, block.AsSpan(n), forwardedOnly: true);
        Http2Writes.HeaderBlock(_output, s.ClientLeg.StreamId, block.AsSpan(0, n), endStream, Peer.MaxFrameSize);
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

        var queued = SendOrQueue(s, data, endStream, canSend: true);
        if (queued < 0)
        {
            return 0;
        }

        Wait(s);
        return queued;
    }

    /// <summary>Relays the upstream's trailers (ending the response), after any response data still queued.</summary>
    public void SendResponseTrailers(Http2ProxyStream s, HeaderList list)
    {
        if (s.ClientClosed)
        {
            return;
        }

        var block = Route.BlockBuffer(EncodedSize(list));
        var n = EncodeFields(list, block, forwardedOnly: true);
        SendOrQueueTrailers(s, block.AsSpan(0, n), canSend: true);
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
            Http2Writes.RstStream(_output, s.ClientLeg.StreamId, Http2ErrorCode.NoError);
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
    public void CreditRequest(Http2ProxyStream s, int count, bool dequeued) =>
        CreditReceived(s, count, dequeued, over: s.ClientClosed || s.RequestEnded);

    /// <summary>Stops the connection at once (no GOAWAY): its streams are cancelled upstream.</summary>
    public void Abort(string reason)
    {
        if (Closing)
        {
            return;
        }

        _events.Publish(EventFactory.ProtocolError(Info, null, reason, Protocol));
        Closing = true;
        _context.Transport.Input.CancelPendingRead();
        _context.Abort();
    }

    private async Task RunAsync()
    {
        var server = Route.Listener.Server;
        server.Watchdog.Add(this);
        var input = _context.Transport.Input;
        try
        {
            lock (Route.Gate)
            {
                Start();
                Route.FlushTouched();
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
                lock (Route.Gate)
                {
                    if (!Closing)
                    {
                        Process(ref buffer);
                    }

                    Route.FlushTouched();
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled || Closing)
                {
                    break;
                }
            }
        }
        finally
        {
            server.Watchdog.Remove(this);
            lock (Route.Gate)
            {
                Teardown();
                Route.FlushTouched();
            }
        }
    }

    private void Start()
    {
        Span<(Http2Setting, uint)> settings =
        [
            (Http2Setting.MaxConcurrentStreams, (uint)Limits.MaxConcurrentStreams),
            (Http2Setting.InitialWindowSize, (uint)Limits.StreamWindow),
            (Http2Setting.MaxHeaderListSize, (uint)Limits.MaxRequestHeaderListSize),
        ];
        WriteOpening(settings);
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

        ProcessFrames(ref buffer);
    }

    /// <inheritdoc />
    private protected override void OnPriority(in Http2Frame frame)
    {
        CountControlFrame();
        if (frame.StreamError is { } priorityError && Streams.TryGetValue(frame.StreamId, out var prioritized))
        {
            StreamError(prioritized, priorityError.Code, priorityError.Message);
        }
    }

    /// <inheritdoc />
    private protected override void OnGoAway(in Http2Frame frame)
    {
        // The client leaves: it opens nothing more; what is open finishes, then it closes the connection.
    }

    /// <inheritdoc />
    private protected override void OnPeerSettings()
    {
        _settingsDeadline = 0;
        CheckOutput();
    }

    /// <inheritdoc />
    private protected override void OnWindowUpdate(in Http2Frame frame)
    {
        if (!Streams.TryGetValue(frame.StreamId, out var s))
        {
            if (frame.StreamId > _lastStreamId)
            {
                ConnectionError(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream");
            }
            else
            {
                CountControlFrame();
            }

            return;
        }

        OnStreamWindowUpdate(s, frame);
    }

    /// <inheritdoc />
    private protected override void OnRstStream(in Http2Frame frame)
    {
        if (!Streams.TryGetValue(frame.StreamId, out var s))
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
            if (_prematureResets >= Limits.MaxPrematureResets && _prematureResets * 2 >= _streamsOpened)
            {
                // Rapid reset (CVE-2023-44487): most streams are opened only to be cancelled.
                ConnectionError(Http2ErrorCode.EnhanceYourCalm, "too many streams reset by the client (rapid reset)");
                return;
            }
        }

        CloseClientSide(s, cancelUpstream: true);
    }

    /// <inheritdoc />
    private protected override void OnHeaders(in Http2Frame frame)
    {
        var id = frame.StreamId;
        _blockStreamError = frame.StreamError;
        _blockStarted = Environment.TickCount64;
        if (Streams.TryGetValue(id, out var existing))
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

            Headers.Begin(id, frame.EndStream, _trailers);
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
            var s = Route.RentStream();
            s.Client = this;
            s.ClientLeg.StreamId = id;
            s.Started = Stopwatch.GetTimestamp();
            _blockKind = BlockKind.Request;
            _blockStream = s;
            Headers.Begin(id, frame.EndStream, s.RequestHeaders);
        }

        FeedBlock(frame.Payload, frame.EndHeaders);
    }

    /// <inheritdoc />
    private protected override void FeedBlock(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        var endStream = Headers.EndStream;
        var status = Headers.Feed(fragment, endHeaders);
        if (status == ParseStatus.Rejected)
        {
            ConnectionError(Headers.Error!.Contains("flood", StringComparison.Ordinal) ? Http2ErrorCode.EnhanceYourCalm : Http2ErrorCode.CompressionError, $"request header block: {Headers.Error}");
            if (_blockKind == BlockKind.Request && _blockStream is { } abandoned)
            {
                Route.ReturnStream(abandoned);
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
        if (Closing)
        {
            Route.ReturnStream(s);
            return;
        }

        if (Streams.Count >= Limits.MaxConcurrentStreams)
        {
            // §5.1.2: past SETTINGS_MAX_CONCURRENT_STREAMS; refused streams count as resets for the rapid-reset defence.
            Http2Writes.RstStream(_output, s.ClientLeg.StreamId, Http2ErrorCode.RefusedStream);
            Route.ReturnStream(s);
            _prematureResets++;
            if (_prematureResets >= Limits.MaxPrematureResets && _prematureResets * 2 >= _streamsOpened)
            {
                ConnectionError(Http2ErrorCode.EnhanceYourCalm, "too many streams over the concurrency limit");
            }

            return;
        }

        Streams.Add(s.ClientLeg.StreamId, s);
        _idleSince = 0;
        OpenLeg(s, s.ClientLeg.StreamId);
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
        var raw = Route.PathChars(rawPath.Length);
        for (var i = 0; i < rawPath.Length; i++)
        {
            raw[i] = (char)rawPath[i];
        }

        var normalized = Route.NormalizedChars();
        var error = rawPath.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0
            ? "non-ASCII byte in the request target"
            : PathNormalizer.Normalize(raw.AsSpan(0, rawPath.Length), normalized, out var length) ?? Store(s, normalized, length);
        if (error is not null)
        {
            RejectRequest(s, 400, 13, "Bad Request", error, new string(raw, 0, rawPath.Length));
            return;
        }

        var authority = head.Authority >= 0 ? list.Value(head.Authority) : head.Host >= 0 ? list.Value(head.Host) : default;
        var host = Route.HostChars(authority.Length);
        for (var i = 0; i < authority.Length; i++)
        {
            host[i] = (char)authority[i];
        }

        var path = normalized.AsSpan(0, s.PathLength);
        var view = new Http2HeaderView(list, Route.ValueChars);
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
        var upstream = Route.UpstreamFor(policy.Source.Identity);
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

    /// <inheritdoc />
    private protected override void OnData(in Http2Frame frame)
    {
        if (!ReceiveData(frame))
        {
            return;
        }

        if (!Streams.TryGetValue(frame.StreamId, out var s))
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

        if (!ReceiveStreamData(s, frame, out var padding))
        {
            return;
        }

        var data = frame.Payload;
        if (data.IsEmpty && !frame.EndStream)
        {
            CountControlFrame();
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
        var block = Route.BlockBuffer(128 + message.Length * 3);
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
            Http2Writes.HeaderBlock(_output, s.ClientLeg.StreamId, block.AsSpan(0, n), true, Peer.MaxFrameSize);
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
        Http2Writes.HeaderBlock(_output, s.ClientLeg.StreamId, block.AsSpan(0, n), false, Peer.MaxFrameSize);
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

    /// <inheritdoc />
    private protected override void OnRelayed(Http2ProxyStream s, int count, bool fromQueue) =>
        s.Upstream?.CreditResponse(s, count, dequeued: fromQueue && !s.Local);

    /// <inheritdoc />
    private protected override void OnSendEnded(Http2ProxyStream s) => OnResponseEnded(s);

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
            Http2Writes.RstStream(_output, s.ClientLeg.StreamId, Http2ErrorCode.NoError);
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
            Http2Writes.RstStream(_output, s.ClientLeg.StreamId, code);
        }

        CloseClientSide(s, cancelUpstream: true);
    }

    /// <summary>A stream error (RFC 9113 §5.4.2): RST_STREAM to the client, the upstream side cancelled.</summary>
    private protected override void StreamError(Http2ProxyStream s, Http2ErrorCode code, string? detail)
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
        Streams.Remove(s.ClientLeg.StreamId);
        StopWaiting(s);

        if (s.ResponseQueue.Length > 0 && !s.Local)
        {
            s.Upstream?.ReceivedBytesReleased(s.ResponseQueue.Length);
        }

        s.ResponseQueue.Clear();
        if (cancelUpstream && !s.UpstreamClosed)
        {
            s.Upstream?.Cancel(s);
            s.UpstreamClosed = true;
        }

        if (Streams.Count == 0)
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
            Route.ReturnStream(s);
        }
    }

    /// <inheritdoc />
    private protected override void CountControlFrame()
    {
        var now = Environment.TickCount64;
        if (now - _controlWindowStart > 1000)
        {
            _controlWindowStart = now;
            _controlFrames = 0;
        }

        if (++_controlFrames > Limits.MaxControlFramesPerSecond)
        {
            ConnectionError(Http2ErrorCode.EnhanceYourCalm, "too many frames without payload (flood)");
        }
    }

    /// <inheritdoc />
    private protected override void CheckOutput()
    {
        if (_output.IsOverflowing)
        {
            Abort("the client does not read what it asks for (output over the limit)");
        }
    }

    /// <inheritdoc />
    private protected override void ConnectionError(Http2ErrorCode code, string message)
    {
        if (Closing)
        {
            return;
        }

        _events.Publish(EventFactory.ProtocolError(Info, null, message, Protocol));
        GoAwayAndClose(code);
    }

    private void GoAwayAndClose(Http2ErrorCode code)
    {
        if (Closing)
        {
            return;
        }

        Http2Writes.GoAway(_output, _lastStreamId, code);
        Closing = true;
        _context.Transport.Input.CancelPendingRead();
    }

    private void Teardown()
    {
        if (_tornDown)
        {
            return;
        }

        _tornDown = true;
        Closing = true;
        foreach (var s in Streams.Values.ToArray())
        {
            CloseClientSide(s, cancelUpstream: true);
        }

        Waiting.Clear();
        Route.RemoveClient();
    }
}
