using System.Buffers;
using System.Diagnostics;
using System.Net;
using Membrane.Proxy.Http;
using Membrane.Proxy.Listener;
using Microsoft.AspNetCore.Http;
using static Membrane.Proxy.Http.BodyWriting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Membrane.Proxy.Http2;

/// <summary>
/// Decides and forwards one HTTP/2 stream (h2c, gRPC). Each stream gets its own verdict: a denied gRPC call is
/// answered with a trailers-only response, <c>grpc-status: 7</c> (PERMISSION_DENIED) and <c>grpc-message: Access
/// denied</c>, as Cilium's Envoy does for its 403 local reply (protocol-facts §5); other HTTP/2 requests get 403. Other
/// streams of the connection are unaffected. Allowed streams are forwarded as HTTP/2 to the upstream with the checked
/// path, bodies streamed both ways (flow control is each side's own) and trailers relayed.
/// </summary>
internal static class Http2Forwarder
{
    private const string Protocol = "HTTP/2";
    private static readonly byte[] DeniedBody = "Access denied\r\n"u8.ToArray();

    public static async Task ProcessAsync(IFeatureCollection features, IHttpRequestFeature request, ClientConnection connection)
    {
        var started = Stopwatch.GetTimestamp();
        var server = connection.Listener.Server;
        var events = server.Events;
        var policy = connection.CurrentPolicy();
        var lifetime = features.Get<IHttpRequestLifetimeFeature>();
        if (!policy.L4Allowed)
        {
            events.Publish(EventFactory.ConnectionDenied(connection.Info, policy));
            lifetime?.Abort();
            return;
        }

        var headers = request.Headers;
        var method = request.Method;
        var isGrpc = headers.ContentType.Count > 0 && (headers.ContentType[0] ?? "").StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
        var buffer = ArrayPool<char>.Shared.Rent(8192);
        string target;
        try
        {
            var error = PathNormalizer.Normalize(request.RawTarget, buffer, out var length);
            if (error is not null)
            {
                events.Publish(EventFactory.ProtocolError(connection.Info, policy, error, Protocol) with { HttpMethod = method, HttpUrl = request.RawTarget, HttpStatus = 400 });
                WriteLocal(features, 400, isGrpc, grpcStatus: 13, "Bad Request");
                return;
            }

            target = new string(buffer, 0, length);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }

        var host = headers.Host.Count > 0 ? headers.Host[0] ?? "" : "";
        var actions = new List<Membrane.Policy.L7.Http.HttpHeaderAction>();
        var decision = RequestGate.Decide(policy, method, target, host, headers, actions);
        var url = string.Concat("http://", host.Length > 0 ? host : connection.Info.OriginalDestination.ToString(), target);
        events.Publish(new L7Event
        {
            Kind = L7EventKind.HttpRequest,
            TimestampUnixNs = EventFactory.NowUnixNs(),
            Connection = connection.Info,
            Policy = policy,
            Verdict = decision.Allowed ? L7Verdict.Forwarded : L7Verdict.Denied,
            DecidedBy = decision.DecidedBy,
            DeniedDirection = decision.DeniedDirection,
            HttpMethod = method,
            HttpUrl = url,
            HttpProtocol = Protocol,
            GrpcStatus = -1,
        });

        if (!decision.Allowed)
        {
            WriteLocal(features, 403, isGrpc, grpcStatus: 7, "Access denied");
            Publish(events, connection, policy, decision, method, url, isGrpc ? 200 : 403, isGrpc ? 7 : -1, started, L7Verdict.Forwarded, null);
            return;
        }

        if (actions.Count > 0)
        {
            RequestGate.ApplyHeaderActions(headers, actions);
        }

        var route = connection.Http2Route;
        if (route is null || route.SourceIdentity != policy.Source.Identity)
        {
            route = Http2Upstream.RouteFor(connection.Info, policy.Source.Identity);
            connection.Http2Route = route;
        }

        using var message = new HttpRequestMessage(HttpMethod.Parse(method), route.BaseUri + target)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        Http2Upstream.Attach(message, route);
        var bodyDetection = features.Get<IHttpRequestBodyDetectionFeature>();
        if (bodyDetection?.CanHaveBody != false)
        {
            message.Content = new PipeContent(features.Get<IRequestBodyPipeFeature>()!.Reader);
        }

        CopyRequestHeaders(headers, message);
        var aborted = lifetime?.RequestAborted ?? CancellationToken.None;
        HttpResponseMessage upstream;
        try
        {
            upstream = await connection.Listener.Http2.Invoker.SendAsync(message, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            if (aborted.IsCancellationRequested)
            {
                return;
            }

            var detail = e is OperationCanceledException ? "upstream timeout" : $"upstream failed: {e.InnerException?.Message ?? e.Message}";
            WriteLocal(features, 503, isGrpc, grpcStatus: 14, "upstream connect error");
            Publish(events, connection, policy, decision, method, url, isGrpc ? 200 : 503, isGrpc ? 14 : -1, started, L7Verdict.Error, detail);
            return;
        }

        using (upstream)
        {
            var response = features.Get<IHttpResponseFeature>()!;
            response.StatusCode = (int)upstream.StatusCode;
            CopyResponseHeaders(upstream.Headers, response.Headers);
            CopyResponseHeaders(upstream.Content.Headers, response.Headers);
            var grpcStatus = -1;
            try
            {
                var writer = features.Get<IHttpResponseBodyFeature>()!.Writer;
                var stream = await upstream.Content.ReadAsStreamAsync(aborted).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    while (true)
                    {
                        // The writer's own block size: a larger hint makes Kestrel's pipe allocate an unpooled buffer.
                        var memory = writer.GetMemory();
                        var n = await stream.ReadAsync(memory, aborted).ConfigureAwait(false);
                        if (n == 0)
                        {
                            break;
                        }

                        writer.Advance(n);
                        var flush = await writer.FlushAsync(aborted).ConfigureAwait(false);
                        if (flush.IsCompleted || flush.IsCanceled)
                        {
                            break;
                        }
                    }
                }

                var trailers = features.Get<IHttpResponseTrailersFeature>();
                if (trailers is not null)
                {
                    foreach (var (name, values) in upstream.TrailingHeaders)
                    {
                        trailers.Trailers[name] = values.ToArray();
                    }
                }

                if (TryGrpcStatus(upstream, out var s))
                {
                    grpcStatus = s;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                if (aborted.IsCancellationRequested)
                {
                    // The client reset the stream or left: nothing to answer, nothing malformed.
                    return;
                }

                // The response has started: reset this stream only (RFC 9113 §8.1), the connection lives on.
                features.Get<IHttpResetFeature>()?.Reset(2);
                events.Publish(EventFactory.ProtocolError(connection.Info, policy, $"upstream stream failed: {e.Message}", Protocol));
                return;
            }

            Publish(events, connection, policy, decision, method, url, (int)upstream.StatusCode, grpcStatus, started, L7Verdict.Forwarded, null);
        }
    }

    private static bool TryGrpcStatus(HttpResponseMessage response, out int status)
    {
        status = -1;
        IEnumerable<string>? values = null;
        if (response.TrailingHeaders.TryGetValues("grpc-status", out var t))
        {
            values = t;
        }
        else if (response.Headers.TryGetValues("grpc-status", out var h))
        {
            values = h;
        }

        return values is not null && int.TryParse(values.FirstOrDefault(), out status);
    }

    private static void CopyRequestHeaders(IHeaderDictionary headers, HttpRequestMessage message)
    {
        foreach (var (name, values) in headers)
        {
            if (name.Length == 0 || name[0] == ':' || IsHopByHop(name))
            {
                continue;
            }

            if (name.Equals("te", StringComparison.OrdinalIgnoreCase))
            {
                // RFC 9113 §8.2.2: only "trailers" may travel in TE over HTTP/2 (gRPC requires it).
                message.Headers.TryAddWithoutValidation(name, "trailers");
                continue;
            }

            var array = values.ToArray();
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, array);
            }
            else if (!message.Headers.TryAddWithoutValidation(name, array))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, array);
            }
        }
    }

    private static void CopyResponseHeaders(System.Net.Http.Headers.HttpHeaders source, IHeaderDictionary target)
    {
        foreach (var (name, values) in source.NonValidated)
        {
            if (IsHopByHop(name))
            {
                continue;
            }

            var array = new string[values.Count];
            var i = 0;
            foreach (var v in values)
            {
                array[i++] = v;
            }

            target[name] = array;
        }
    }

    private static bool IsHopByHop(string name) =>
        name.Equals(HeaderNames.Connection, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.KeepAlive, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.Upgrade, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.ProxyConnection, StringComparison.OrdinalIgnoreCase);

    private static void WriteLocal(IFeatureCollection features, int status, bool grpc, int grpcStatus, string message)
    {
        var response = features.Get<IHttpResponseFeature>()!;
        var headers = response.Headers;
        if (grpc)
        {
            // Trailers-only (gRPC PROTOCOL-HTTP2.md): one HEADERS frame with END_STREAM carrying the status.
            response.StatusCode = 200;
            headers.ContentType = "application/grpc";
            headers["grpc-status"] = grpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture);
            headers["grpc-message"] = Uri.EscapeDataString(message).Replace("%20", " ", StringComparison.Ordinal);
            return;
        }

        response.StatusCode = status;
        headers.ContentType = "text/plain";
        var body = status == 403 ? DeniedBody : System.Text.Encoding.ASCII.GetBytes(message + "\r\n");
        headers.ContentLength = body.Length;
        WriteTo(features.Get<IHttpResponseBodyFeature>()!.Writer, body);
    }

    private static void Publish(IL7EventSink events, ClientConnection connection, ConnectionPolicy policy, HttpDecision decision, string method, string url, int status, int grpcStatus, long started, L7Verdict verdict, string? detail) =>
        events.Publish(new L7Event
        {
            Kind = L7EventKind.HttpResponse,
            TimestampUnixNs = EventFactory.NowUnixNs(),
            Connection = connection.Info,
            Policy = policy,
            Verdict = verdict,
            DecidedBy = decision.DecidedBy,
            DeniedDirection = decision.DeniedDirection,
            Detail = detail,
            HttpMethod = method,
            HttpUrl = url,
            HttpProtocol = Protocol,
            HttpStatus = status,
            GrpcStatus = grpcStatus,
            LatencyNs = (long)Stopwatch.GetElapsedTime(started).TotalNanoseconds,
        });
}
