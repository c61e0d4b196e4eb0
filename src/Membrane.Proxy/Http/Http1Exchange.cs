using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Membrane.Policy.L7.Http;
using Membrane.Proxy.Listener;
using Microsoft.AspNetCore.Http;
using static Membrane.Proxy.Http.BodyWriting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Membrane.Proxy.Http;

/// <summary>
/// The HTTP/1.1 side of one client connection: decides each request Kestrel parsed, answers denied ones itself, and
/// relays allowed ones over one keep-alive upstream connection with per-connection buffers (no pipe on the upstream
/// leg). The request head is re-serialized from what was checked: the normalized target, hop-by-hop fields removed,
/// the body re-framed (Content-Length or chunked). The upstream response head is parsed by
/// <see cref="Http1ResponseHeadParser"/> and its body re-framed by Kestrel towards the client.
/// </summary>
internal sealed class Http1Exchange : IWatchedUpstream, IDisposable
{
    private const int SendBufferSize = 8 * 1024;
    private const int MaxTargetChars = 8 * 1024;
    private const int FlushThreshold = 64 * 1024;
    private static readonly byte[] CrLf = "\r\n"u8.ToArray();
    private static readonly byte[] LastChunk = "0\r\n\r\n"u8.ToArray();

    private readonly ClientConnection _connection;
    private readonly ProxyServerOptions _options;
    private readonly IL7EventSink _events;
    private readonly byte[] _deniedBody;
    private const int InitialReceiveBuffer = 16 * 1024;

    // The normalized target is only used synchronously inside ProcessAsync (check, URL, head serialization), so one
    // buffer per thread serves every connection instead of 16 KB held by each idle keep-alive connection.
    [ThreadStatic]
    private static char[]? t_target;

    private readonly int _maxHead;
    private byte[] _recv;
    private readonly Http1ResponseHead _head = new();
    private readonly ResponseHeaderCache _headerCache = new();
    private readonly List<HttpHeaderAction> _actions = [];
    private byte[] _send = new byte[SendBufferSize];
    private ChunkedDecoder _chunked;
    private Socket? _upstream;
    private int _recvStart;
    private int _recvEnd;
    private long _deadline;
    private volatile bool _timedOut;
    private string? _lastUrl;
    private string? _lastHost;
    private readonly long _idleTimeoutMs;
    private IFeatureCollection? _features;
    private ConnectionPolicy? _policy;
    private string? _method;
    private string? _url;
    private HttpDecision _decision;
    private long _started;
    private bool _isUpgrade;
    private bool _chunkedRequest;
    private bool _hasBody;
    private bool _reused;
    private int _headLength;
    private int _attempt;

    public Http1Exchange(ClientConnection connection)
    {
        _connection = connection;
        _options = connection.Listener.Server.Options;
        _events = connection.Listener.Server.Events;
        _deniedBody = Encoding.ASCII.GetBytes(_options.DeniedBody);
        _maxHead = Math.Max(_options.MaxUpstreamResponseHeadBytes, InitialReceiveBuffer);
        _recv = new byte[InitialReceiveBuffer];
        _idleTimeoutMs = (long)_options.UpstreamIdleTimeout.TotalMilliseconds;
        connection.Listener.Server.Watchdog.Add(this);
    }

    public long DeadlineTicks => Volatile.Read(ref _deadline);

    public void OnDeadline()
    {
        _timedOut = true;
        Volatile.Write(ref _deadline, 0);
        _upstream?.Dispose();
    }

    public void Dispose()
    {
        _connection.Listener.Server.Watchdog.Remove(this);
        CloseUpstream();
    }

    /// <summary>Handles one request; completes synchronously for denials and rejections.</summary>
    public Task ProcessAsync(IFeatureCollection features, IHttpRequestFeature request)
    {
        var started = Stopwatch.GetTimestamp();
        var policy = _connection.CurrentPolicy();
        var headers = request.Headers;
        if (!policy.L4Allowed)
        {
            // A policy change revoked the connection itself: close it (the next request must not be served).
            _events.Publish(EventFactory.ConnectionDenied(_connection.Info, policy));
            features.Get<IHttpRequestLifetimeFeature>()?.Abort();
            return Task.CompletedTask;
        }

        var method = request.Method;
        if (headers.ContainsKey(HeaderNames.TransferEncoding) && headers.ContainsKey("X-Content-Length"))
        {
            // Kestrel accepts Content-Length with Transfer-Encoding and renames the former X-Content-Length
            // (dotnet/aspnetcore#43523); a request framed two ways is a smuggling attempt (RFC 9112 §6.3): refuse it
            // and close, as RFC 9112 requires after such a request.
            return Reject(features, policy, method, request.RawTarget, 400, "Content-Length with Transfer-Encoding (request smuggling)", close: true);
        }

        var targetBuffer = t_target ??= new char[MaxTargetChars];
        var error = PathNormalizer.Normalize(request.RawTarget, targetBuffer, out var targetLength);
        if (error is not null)
        {
            return Reject(features, policy, method, request.RawTarget, 400, error, close: false);
        }

        var target = targetBuffer.AsSpan(0, targetLength);
        var host = headers.Host.Count > 0 ? headers.Host[0] ?? "" : "";
        _actions.Clear();
        var decision = RequestGate.Decide(policy, method, target, host, headers, _actions);
        var url = Url(host, target);
        _events.Publish(new L7Event
        {
            Kind = L7EventKind.HttpRequest,
            TimestampUnixNs = EventFactory.NowUnixNs(),
            Connection = _connection.Info,
            Policy = policy,
            Verdict = decision.Allowed ? L7Verdict.Forwarded : L7Verdict.Denied,
            DecidedBy = decision.DecidedBy,
            DeniedDirection = decision.DeniedDirection,
            HttpMethod = method,
            HttpUrl = url,
            HttpProtocol = "HTTP/1.1",
            GrpcStatus = -1,
        });

        if (!decision.Allowed)
        {
            WriteLocalResponse(features, 403, _deniedBody, close: false);
            PublishResponse(policy, method, url, 403, started, L7Verdict.Forwarded, decision, null);
            return Task.CompletedTask;
        }

        if (_actions.Count > 0)
        {
            RequestGate.ApplyHeaderActions(headers, _actions);
        }

        // Per-request state lives in fields (requests on one HTTP/1.1 connection are sequential), so the one async
        // state machine per forwarded request stays small.
        _features = features;
        _policy = policy;
        _method = method;
        _url = url;
        _decision = decision;
        _started = started;
        var upgrade = features.Get<IHttpUpgradeFeature>();
        _isUpgrade = upgrade is { IsUpgradableRequest: true };
        _chunkedRequest = headers.ContainsKey(HeaderNames.TransferEncoding);
        var contentLength = _chunkedRequest ? null : headers.ContentLength;
        _hasBody = _chunkedRequest || contentLength > 0;
        _headLength = SerializeHead(method, target, headers, _chunkedRequest, contentLength, _isUpgrade);
        return ForwardAsync();
    }

    private async Task ForwardAsync()
    {
        for (_attempt = 0; ; _attempt++)
        {
            _reused = _upstream is not null;
            if (_upstream is null && !await ConnectAsync().ConfigureAwait(false))
            {
                return;
            }

            ParseStatus status;
            try
            {
                await _upstream!.SendAsync(_send.AsMemory(0, _headLength), SocketFlags.None).ConfigureAwait(false);
                if (_hasBody)
                {
                    await SendBodyAsync(_features!, _chunkedRequest).ConfigureAwait(false);
                }

                while ((status = TryParseResponseHead()) == ParseStatus.NeedMoreData)
                {
                    Volatile.Write(ref _deadline, Environment.TickCount64 + _idleTimeoutMs);
                    var n = await _upstream.ReceiveAsync(_recv.AsMemory(_recvEnd), SocketFlags.None).ConfigureAwait(false);
                    Volatile.Write(ref _deadline, 0);
                    if (n == 0)
                    {
                        status = _recvEnd > _recvStart ? ParseStatus.Rejected : ParseStatus.NeedMoreData;
                        _head.Error ??= "upstream closed the connection inside a response head";
                        break;
                    }

                    _recvEnd += n;
                }
            }
            catch (ClientBodyException e)
            {
                // A malformed or cut request body (bad chunk framing, short body): the upstream saw a partial
                // request, so its connection is dropped, and the client gets 400 and a closed connection.
                CloseUpstream();
                FailRequest(400, "Bad Request\r\n"u8, $"invalid request body: {e.Message}", close: true);
                return;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                var timedOut = _timedOut;
                CloseUpstream();
                if (!timedOut && _reused && !_hasBody && _attempt == 0)
                {
                    continue;
                }

                FailRequest(timedOut ? 504 : 502, timedOut ? "upstream request timeout\r\n"u8 : "upstream reset\r\n"u8, timedOut ? "upstream idle timeout" : $"upstream failed: {e.Message}", close: false);
                return;
            }

            if (status == ParseStatus.NeedMoreData && _reused && !_hasBody && _attempt == 0)
            {
                // The idle keep-alive connection was closed by the upstream before our request reached it
                // (RFC 9112 §9.3.1 allows retrying then): reconnect once.
                CloseUpstream();
                continue;
            }

            if (status != ParseStatus.Complete)
            {
                var detail = status == ParseStatus.Rejected ? $"invalid upstream response: {_head.Error}" : "upstream closed the connection before a response";
                CloseUpstream();
                FailRequest(502, "upstream protocol error\r\n"u8, detail, close: false);
                return;
            }

            break;
        }

        var framing = StartResponse();
        if (framing is null)
        {
            return;
        }

        if (framing == ResponseFraming.None && _head.StatusCode == 101)
        {
            await TunnelAsync(_features!.Get<IHttpUpgradeFeature>()!).ConfigureAwait(false);
            return;
        }

        try
        {
            var bodyFeature = _features!.Get<IHttpResponseBodyFeature>()!;
            await bodyFeature.StartAsync().ConfigureAwait(false);
            await CopyResponseBodyAsync(bodyFeature.Writer, framing.Value).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or InvalidDataException)
        {
            // The response has started: the only honest signal left to the client is an aborted connection.
            CloseUpstream();
            _events.Publish(EventFactory.ProtocolError(_connection.Info, _policy, _timedOut ? "upstream idle timeout during response body" : $"upstream response body failed: {e.Message}", "HTTP/1.1"));
            _features!.Get<IHttpRequestLifetimeFeature>()?.Abort();
            return;
        }

        if (_head.ConnectionClose)
        {
            CloseUpstream();
        }

        _features = null;
    }

    private async ValueTask<bool> ConnectAsync()
    {
        try
        {
            _upstream = await UpstreamConnector.ConnectAsync(_connection.Listener, _connection.Info, _policy!.Source.Identity, CancellationToken.None).ConfigureAwait(false);
            _recvStart = _recvEnd = 0;
            return true;
        }
        catch (UpstreamConnectException e)
        {
            FailRequest(503, "upstream connect error\r\n"u8, e.Message, close: false);
            return false;
        }
    }

    /// <summary>Parses what was received; skips interim (1xx except 101) responses; NeedMoreData when a receive is due.</summary>
    private ParseStatus TryParseResponseHead()
    {
        while (true)
        {
            var status = Http1ResponseHeadParser.Parse(_recv.AsSpan(_recvStart, _recvEnd - _recvStart), _head);
            if (status == ParseStatus.Complete)
            {
                _recvStart += _head.HeadLength;
                if (_head.StatusCode is >= 100 and < 200 and not 101)
                {
                    // Interim responses (100, 103) are not relayed: the proxy strips Expect and answers it itself.
                    continue;
                }

                return status;
            }

            if (status == ParseStatus.Rejected)
            {
                return status;
            }

            if (_recvEnd == _recv.Length)
            {
                if (_recvStart > 0)
                {
                    Compact();
                }
                else if (_recv.Length < _maxHead)
                {
                    // A head larger than the buffer: grow it, up to MaxUpstreamResponseHeadBytes.
                    var larger = new byte[Math.Min(_recv.Length * 2, _maxHead)];
                    Buffer.BlockCopy(_recv, 0, larger, 0, _recvEnd);
                    _recv = larger;
                }
                else
                {
                    _head.Error = "response head too large";
                    return ParseStatus.Rejected;
                }
            }

            return ParseStatus.NeedMoreData;
        }
    }

    /// <summary>Sets the client response's status and fields; returns the body framing, or null when the request ended here.</summary>
    private ResponseFraming? StartResponse()
    {
        var features = _features!;
        var response = features.Get<IHttpResponseFeature>()!;
        var statusCode = _head.StatusCode;
        if (statusCode == 101)
        {
            if (!_isUpgrade)
            {
                CloseUpstream();
                FailRequest(502, "upstream protocol error\r\n"u8, "101 Switching Protocols to a request that did not ask to upgrade", close: false);
                return null;
            }

            CopyResponseHeaders(response.Headers, upgradeResponse: true);
            PublishResponse(_policy!, _method!, _url!, 101, _started, L7Verdict.Forwarded, _decision, null);
            return ResponseFraming.None;
        }

        response.StatusCode = statusCode;
        var responseHeaders = response.Headers;
        CopyResponseHeaders(responseHeaders, upgradeResponse: false);
        var framing = ReferenceEquals(_method, HttpMethods.Head) || _method == "HEAD" ? ResponseFraming.None : _head.Framing;
        if (_head.Framing == ResponseFraming.ContentLength && (framing == ResponseFraming.ContentLength || statusCode is not (204 or 304)))
        {
            responseHeaders.ContentLength = _head.ContentLength;
        }

        PublishResponse(_policy!, _method!, _url!, statusCode, _started, L7Verdict.Forwarded, _decision, null);
        return framing;
    }

    private void FailRequest(int status, ReadOnlySpan<byte> body, string detail, bool close)
    {
        WriteLocalResponse(_features!, status, body.ToArray(), close);
        PublishResponse(_policy!, _method!, _url!, status, _started, L7Verdict.Error, _decision, detail);
        _features = null;
    }

    private int SerializeHead(string method, ReadOnlySpan<char> target, IHeaderDictionary headers, bool chunked, long? contentLength, bool isUpgrade)
    {
        while (true)
        {
            var w = new HeadWriter(_send);
            w.Ascii(method);
            w.Byte((byte)' ');
            w.Ascii(target);
            w.Bytes(" HTTP/1.1\r\n"u8);
            var sawHost = false;
            // Kestrel 10 reports "Connection: keep-alive, X" as just "keep-alive" (it keeps only a known leading
            // token), so fields named after keep-alive/close cannot be seen here and are forwarded (docs/proxy.md).
            var connection = headers.Connection;
            foreach (var (name, values) in headers)
            {
                if (IsHopByHop(name, isUpgrade) || (connection.Count > 0 && IsNamedIn(connection, name) && !(isUpgrade && name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))))
                {
                    continue;
                }

                sawHost |= string.Equals(name, HeaderNames.Host, StringComparison.OrdinalIgnoreCase);
                foreach (var v in values)
                {
                    w.Ascii(name);
                    w.Bytes(": "u8);
                    w.Latin1(v);
                    w.Bytes("\r\n"u8);
                }
            }

            if (!sawHost)
            {
                w.Bytes("Host: "u8);
                w.Ascii(_connection.Info.OriginalDestination.ToString());
                w.Bytes("\r\n"u8);
            }

            if (isUpgrade)
            {
                w.Bytes("Connection: Upgrade\r\n"u8);
            }

            if (chunked)
            {
                w.Bytes("Transfer-Encoding: chunked\r\n"u8);
            }
            else if (contentLength is { } cl)
            {
                w.Bytes("Content-Length: "u8);
                w.Number(cl);
                w.Bytes("\r\n"u8);
            }

            w.Bytes("\r\n"u8);
            if (!w.Overflow)
            {
                return w.Length;
            }

            _send = new byte[_send.Length * 2];
        }
    }

    /// <summary>RFC 9110 §7.6.1: fields named in <c>Connection</c> are connection-specific and not forwarded.</summary>
    private static bool IsNamedIn(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            foreach (var range in value.AsSpan().Split(','))
            {
                if (value.AsSpan()[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsHopByHop(string name, bool isUpgrade)
    {
        // RFC 9110 §7.6.1 connection-specific fields, plus the framing fields the relay writes itself and Expect
        // (the proxy answers 100-continue itself when it starts reading the body).
        switch (name.Length)
        {
            case 2: return name.Equals("TE", StringComparison.OrdinalIgnoreCase);
            case 6: return name.Equals("Expect", StringComparison.OrdinalIgnoreCase);
            case 7: return (!isUpgrade && name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) || name.Equals("Trailer", StringComparison.OrdinalIgnoreCase);
            case 10: return name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase);
            case 14: return name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase);
            case 16: return name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("X-Content-Length", StringComparison.OrdinalIgnoreCase);
            case 17: return name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase);
            default: return false;
        }
    }

    private async ValueTask SendBodyAsync(IFeatureCollection features, bool chunked)
    {
        var reader = features.Get<IRequestBodyPipeFeature>()!.Reader;
        while (true)
        {
            System.IO.Pipelines.ReadResult result;
            try
            {
                result = await reader.ReadAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw new ClientBodyException(e);
            }

            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                if (chunked)
                {
                    var w = new HeadWriter(_send);
                    w.Hex(buffer.Length);
                    w.Bytes("\r\n"u8);
                    await SendAsync(_send.AsMemory(0, w.Length)).ConfigureAwait(false);
                }

                foreach (var segment in buffer)
                {
                    await SendAsync(segment).ConfigureAwait(false);
                }

                if (chunked)
                {
                    await SendAsync(CrLf).ConfigureAwait(false);
                }
            }

            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        if (chunked)
        {
            await SendAsync(LastChunk).ConfigureAwait(false);
        }
    }

    private void CopyResponseHeaders(IHeaderDictionary target, bool upgradeResponse)
    {
        var headers = _head.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            var h = headers[i];
            var nameBytes = _recv.AsSpan(_recvStart - _head.HeadLength + h.NameStart, h.NameLength);
            if (IsHopByHopResponse(nameBytes, upgradeResponse))
            {
                continue;
            }

            var (name, value) = _headerCache.Get(i, nameBytes, _recv.AsSpan(_recvStart - _head.HeadLength + h.ValueStart, h.ValueLength));
            if (target.TryGetValue(name, out var existing) && existing.Count > 0)
            {
                target[name] = StringValues.Concat(existing, value);
            }
            else
            {
                target[name] = value;
            }
        }
    }

    private static bool IsHopByHopResponse(ReadOnlySpan<byte> name, bool upgradeResponse) =>
        name.EqualsAsciiIgnoreCase("connection"u8) || name.EqualsAsciiIgnoreCase("keep-alive"u8) ||
        name.EqualsAsciiIgnoreCase("transfer-encoding"u8) || name.EqualsAsciiIgnoreCase("content-length"u8) ||
        name.EqualsAsciiIgnoreCase("proxy-connection"u8) || name.EqualsAsciiIgnoreCase("trailer"u8) ||
        (!upgradeResponse && name.EqualsAsciiIgnoreCase("upgrade"u8));

    private async ValueTask CopyResponseBodyAsync(System.IO.Pipelines.PipeWriter writer, ResponseFraming framing)
    {
        switch (framing)
        {
            case ResponseFraming.None:
                return;
            case ResponseFraming.ContentLength:
            {
                var remaining = _head.ContentLength;
                var unflushed = 0;
                while (remaining > 0)
                {
                    if (_recvEnd == _recvStart)
                    {
                        if (unflushed > 0)
                        {
                            await FlushToClientAsync(writer).ConfigureAwait(false);
                            unflushed = 0;
                        }

                        _recvStart = _recvEnd = 0;
                        if (await ReceiveAsync().ConfigureAwait(false) == 0)
                        {
                            throw new InvalidDataException("upstream closed before the end of the response body");
                        }
                    }

                    var take = (int)Math.Min(remaining, _recvEnd - _recvStart);
                    WriteTo(writer, _recv.AsSpan(_recvStart, take));
                    _recvStart += take;
                    remaining -= take;
                    unflushed += take;
                    if (unflushed >= FlushThreshold)
                    {
                        await FlushToClientAsync(writer).ConfigureAwait(false);
                        unflushed = 0;
                    }
                }

                return;
            }

            case ResponseFraming.Chunked:
            {
                _chunked.Reset();
                var unflushed = 0;
                while (true)
                {
                    var status = _chunked.Read(_recv.AsSpan(_recvStart, _recvEnd - _recvStart), out var consumed, out var offset, out var length);
                    if (status == ChunkStatus.Data)
                    {
                        WriteTo(writer, _recv.AsSpan(_recvStart + offset, length));
                        unflushed += length;
                    }

                    _recvStart += consumed;
                    if (status == ChunkStatus.Complete)
                    {
                        return;
                    }

                    if (status == ChunkStatus.Rejected)
                    {
                        throw new InvalidDataException($"invalid chunked response body: {_chunked.Error}");
                    }

                    if (status == ChunkStatus.NeedMoreData)
                    {
                        if (unflushed > 0)
                        {
                            await FlushToClientAsync(writer).ConfigureAwait(false);
                            unflushed = 0;
                        }

                        _recvStart = _recvEnd = 0;
                        if (await ReceiveAsync().ConfigureAwait(false) == 0)
                        {
                            throw new InvalidDataException("upstream closed inside a chunked response body");
                        }
                    }
                }
            }

            case ResponseFraming.UntilClose:
                while (true)
                {
                    if (_recvEnd > _recvStart)
                    {
                        WriteTo(writer, _recv.AsSpan(_recvStart, _recvEnd - _recvStart));
                        await FlushToClientAsync(writer).ConfigureAwait(false);
                    }

                    _recvStart = _recvEnd = 0;
                    if (await ReceiveAsync().ConfigureAwait(false) == 0)
                    {
                        return;
                    }
                }
        }
    }

    /// <summary>Flushes to the client; a client that went away ends the relay (the upstream connection is dropped).</summary>
    private static async ValueTask FlushToClientAsync(System.IO.Pipelines.PipeWriter writer)
    {
        var result = await writer.FlushAsync().ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new IOException("the client connection closed during the response body");
        }
    }

    private async Task TunnelAsync(IHttpUpgradeFeature upgrade)
    {
        var upstream = _upstream!;
        _upstream = null;
        var leftover = _recv.AsMemory(_recvStart, _recvEnd - _recvStart).ToArray();
        _recvStart = _recvEnd = 0;
        var client = await upgrade.UpgradeAsync().ConfigureAwait(false);
        await using var upstreamStream = new NetworkStream(upstream, ownsSocket: true);
        if (leftover.Length > 0)
        {
            await client.WriteAsync(leftover).ConfigureAwait(false);
        }

        var up = CopyThenShutdownAsync(client, upstreamStream, () => upstream.Shutdown(SocketShutdown.Send));
        var down = CopyThenShutdownAsync(upstreamStream, client, null);
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    private static async Task CopyThenShutdownAsync(Stream from, Stream to, Action? shutdown)
    {
        try
        {
            await from.CopyToAsync(to).ConfigureAwait(false);
            shutdown?.Invoke();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private ValueTask<int> SendAsync(ReadOnlyMemory<byte> data) => _upstream!.SendAsync(data, SocketFlags.None);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveAsync()
    {
        Volatile.Write(ref _deadline, Environment.TickCount64 + _idleTimeoutMs);
        try
        {
            var n = await _upstream!.ReceiveAsync(_recv.AsMemory(_recvEnd), SocketFlags.None).ConfigureAwait(false);
            _recvEnd += n;
            return n;
        }
        finally
        {
            Volatile.Write(ref _deadline, 0);
        }
    }

    private void Compact()
    {
        var live = _recvEnd - _recvStart;
        Buffer.BlockCopy(_recv, _recvStart, _recv, 0, live);
        _recvStart = 0;
        _recvEnd = live;
    }

    private void CloseUpstream()
    {
        _upstream?.Dispose();
        _upstream = null;
        _recvStart = _recvEnd = 0;
        _timedOut = false;
    }

    private string Url(string host, ReadOnlySpan<char> target)
    {
        if (_lastUrl is not null && ReferenceEquals(host, _lastHost) && _lastUrl.AsSpan(7 + host.Length).SequenceEqual(target))
        {
            return _lastUrl;
        }

        var h = host.Length > 0 ? host : _connection.Info.OriginalDestination.ToString();
        _lastHost = host;
        _lastUrl = string.Concat("http://", h, target);
        if (h.Length != host.Length)
        {
            _lastHost = null;
        }

        return _lastUrl;
    }

    private Task Reject(IFeatureCollection features, ConnectionPolicy policy, string method, string rawTarget, int status, string detail, bool close)
    {
        _events.Publish(new L7Event
        {
            Kind = L7EventKind.ProtocolError,
            TimestampUnixNs = EventFactory.NowUnixNs(),
            Connection = _connection.Info,
            Policy = policy,
            Verdict = L7Verdict.Error,
            Detail = detail,
            HttpMethod = method,
            HttpUrl = rawTarget,
            HttpProtocol = "HTTP/1.1",
            HttpStatus = status,
            GrpcStatus = -1,
        });
        WriteLocalResponse(features, status, "Bad Request\r\n"u8.ToArray(), close);
        return Task.CompletedTask;
    }

    private static void WriteLocalResponse(IFeatureCollection features, int status, byte[] body, bool close)
    {
        var response = features.Get<IHttpResponseFeature>()!;
        if (response.HasStarted)
        {
            features.Get<IHttpRequestLifetimeFeature>()?.Abort();
            return;
        }

        response.StatusCode = status;
        var headers = response.Headers;
        headers.Clear();
        headers.ContentType = "text/plain";
        headers.ContentLength = body.Length;
        if (close)
        {
            headers.Connection = "close";
        }

        var bodyFeature = features.Get<IHttpResponseBodyFeature>()!;
        // Starting the response first lets Kestrel write the body straight into its output buffer (writes before
        // the start are staged in rented segments: an allocation per denied request). It completes synchronously.
        _ = bodyFeature.StartAsync();
        WriteTo(bodyFeature.Writer, body);
    }

    private void PublishResponse(ConnectionPolicy policy, string method, string url, int status, long started, L7Verdict verdict, HttpDecision decision, string? detail) =>
        _events.Publish(new L7Event
        {
            Kind = L7EventKind.HttpResponse,
            TimestampUnixNs = EventFactory.NowUnixNs(),
            Connection = _connection.Info,
            Policy = policy,
            Verdict = verdict,
            DecidedBy = decision.DecidedBy,
            DeniedDirection = decision.DeniedDirection,
            Detail = detail,
            HttpMethod = method,
            HttpUrl = url,
            HttpProtocol = "HTTP/1.1",
            HttpStatus = status,
            LatencyNs = (long)Stopwatch.GetElapsedTime(started).TotalNanoseconds,
            GrpcStatus = -1,
        });
}

/// <summary>Reading the client's request body failed (the client's fault, not the upstream's).</summary>
internal sealed class ClientBodyException(Exception inner) : Exception(inner.Message, inner);
