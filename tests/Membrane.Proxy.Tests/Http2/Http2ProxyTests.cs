using System.Text;
using Membrane.Policy.L7.Http;
using Membrane.Proxy.Http2;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>
/// The HTTP/2 engine end to end with raw peers on both sides (<see cref="H2Wire"/> as the client, <see cref="H2Origin"/>
/// as the upstream), so every assertion is on bytes the peers exchanged: what the origin received, what the client
/// got, which frames ended which stream, and the events.
/// </summary>
public sealed class Http2ProxyTests : IAsyncLifetime
{
    private static readonly Membrane.Policy.Model.PolicyRef Policy = new("CiliumNetworkPolicy", "default", "svc-policy");

    private H2Origin _origin = null!;
    private ProxyHarness _proxy = null!;

    public static HttpRuleSet Rules() => HttpRuleSet.Compile([
        (new HttpRule(Method: "POST", Path: "/svc/(Allowed|Stream|Big)(\\?.*)?"), Policy),
        (new HttpRule(Method: "GET", Path: "/get(/.*)?"), Policy),
    ]);

    public async Task InitializeAsync()
    {
        _origin = new H2Origin();
        _proxy = await ProxyHarness.StartAsync(_origin.EndPoint, new TestPolicySource(Rules()));
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task AnAllowedCallReachesTheOriginWithTheCheckedPathAndComesBackWithTrailers()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, false, [(":method", "POST"), (":scheme", "http"), (":authority", "catalog:50051"), (":path", "/svc/x/../%41llowed?q=1"),
            ("content-type", "application/grpc"), ("te", "trailers"), ("x-custom", "v1"), ("x-custom", "v2"), ("!authorization", "secret")]);
        await client.DataAsync(1, H2Wire.GrpcMessage(100), endStream: true);
        var response = await client.ResponseAsync(1);
        Assert.True(response.Ended, response.ToString());
        Assert.Equal(200, response.Status);
        Assert.Equal("application/grpc", response.Header("content-type"));
        Assert.True(response.Trailer("grpc-status") == "0", response.ToString());
        Assert.Equal(105, response.Body.Length);

        var request = Assert.Single(_origin.Requests);
        Assert.Equal("/svc/Allowed?q=1", request.Header(":path"));
        Assert.Equal("catalog:50051", request.Header(":authority"));
        Assert.Equal("POST", request.Header(":method"));
        Assert.Equal("trailers", request.Header("te"));
        Assert.Equal(["v1", "v2"], request.Headers.Where(h => h.Name == "x-custom").Select(h => h.Value));
        Assert.Equal("secret", request.Header("authorization"));
        Assert.Equal(105, request.Body.Length);

        var allowed = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpRequest });
        Assert.Equal(L7Verdict.Forwarded, allowed.Verdict);
        Assert.Equal("http://catalog:50051/svc/Allowed?q=1", allowed.HttpUrl);
        Assert.Equal("HTTP/2", allowed.HttpProtocol);
        Assert.Equal(Policy, allowed.DecidedBy);
        var done = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse });
        Assert.Equal((200, 0, L7Verdict.Forwarded), (done.HttpStatus, done.GrpcStatus, done.Verdict));
        Assert.True(done.LatencyNs > 0);
    }

    [Fact]
    public async Task ADeniedCallIsAnsweredTrailersOnlyWhileTheOtherStreamsOfTheConnectionGoOn()
    {
        _origin.Handler = async r =>
        {
            await r.RespondAsync(200, r.Body.ToArray(), [("content-type", "application/grpc")], [("grpc-status", "0")]);
        };
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, false, H2Wire.GrpcRequest("/svc/Stream"));
        await client.DataAsync(1, H2Wire.GrpcMessage(10), endStream: false);

        // Denied while the client still uploads: one HEADERS frame with END_STREAM, then RST_STREAM(NO_ERROR).
        await client.HeadersAsync(3, false, H2Wire.GrpcRequest("/svc/Forbidden"));
        await client.DataAsync(3, H2Wire.GrpcMessage(10), endStream: false);
        var denied = await client.ResponseAsync(3);
        Assert.True(denied.Ended, denied.ToString());
        Assert.Equal(("200", "application/grpc", "7", "Access denied"), (denied.Header(":status"), denied.Header("content-type"), denied.Header("grpc-status"), denied.Header("grpc-message")));
        Assert.Equal(0, denied.Body.Length);
        var rst = await client.NextAsync(f => f.StreamId == 3);
        Assert.Equal((Http2FrameType.RstStream, Http2ErrorCode.NoError), (rst!.Type, rst.ErrorCode));
        await client.DataAsync(3, H2Wire.GrpcMessage(10), endStream: true); // late data on the closed stream is ignored

        // A plain HTTP/2 request that is denied gets 403 with Cilium's body.
        await client.HeadersAsync(5, true, [(":method", "DELETE"), (":scheme", "http"), (":authority", "svc"), (":path", "/get/1")]);
        var forbidden = await client.ResponseAsync(5);
        Assert.Equal((403, "Access denied\r\n"), (forbidden.Status, Encoding.ASCII.GetString(forbidden.Body.ToArray())));

        // Stream 1 was not disturbed.
        await client.DataAsync(1, H2Wire.GrpcMessage(20), endStream: true);
        var ok = await client.ResponseAsync(1);
        Assert.Equal((true, 200, "0", 40L), (ok.Ended, ok.Status, ok.Trailer("grpc-status"), ok.Body.Length));
        Assert.DoesNotContain(_origin.Requests, r => r.Header(":path") != "/svc/Stream");

        var deniedEvent = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpRequest, Verdict: L7Verdict.Denied, HttpUrl: "http://catalog/svc/Forbidden" });
        Assert.Equal(Membrane.Policy.Model.TrafficDirection.Ingress, deniedEvent.DeniedDirection);
        _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, GrpcStatus: 7, HttpStatus: 200 });
        _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, HttpStatus: 403 });
    }

    public static TheoryData<string, (string, string)[]> MalformedRequests() => new()
    {
        { "upper-case field name", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("X-Upper", "1")] },
        { "connection-specific field", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("connection", "close")] },
        { "transfer-encoding", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("transfer-encoding", "chunked")] },
        { "te other than trailers", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("te", "gzip")] },
        { "missing :path", [(":method", "GET"), (":scheme", "http")] },
        { "empty :path", [(":method", "GET"), (":scheme", "http"), (":path", "")] },
        { "missing :method", [(":scheme", "http"), (":path", "/get")] },
        { "pseudo after regular", [(":method", "GET"), ("x-a", "1"), (":scheme", "http"), (":path", "/get")] },
        { "duplicate :path", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), (":path", "/get/2")] },
        { "response pseudo-header", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), (":status", "200")] },
        { "CR in a value", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("x-a", "a\rb")] },
        { "leading space in a value", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("x-a", " a")] },
        { "host differs from :authority", [(":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/get"), ("host", "b")] },
        { "userinfo in :authority", [(":method", "GET"), (":scheme", "http"), (":authority", "u@a"), (":path", "/get")] },
        { "invalid content-length", [(":method", "GET"), (":scheme", "http"), (":path", "/get"), ("content-length", "1x")] },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task AMalformedRequestIsResetAndNeverForwardedAndTheConnectionLivesOn(string what, (string, string)[] fields)
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, true, fields);
        var reset = await client.ResponseAsync(1);
        Assert.True(reset.Reset == Http2ErrorCode.ProtocolError, $"{what}: {reset}");
        var error = _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError);
        Assert.Contains("malformed request", error.Detail, StringComparison.Ordinal);

        await client.HeadersAsync(3, true, [(":method", "GET"), (":scheme", "http"), (":authority", "svc"), (":path", "/get/ok")]);
        Assert.Equal(200, (await client.ResponseAsync(3)).Status);
        Assert.Equal(["/get/ok"], _origin.Requests.Select(r => r.Header(":path")));
    }

    [Theory]
    [InlineData("/get/..%2fadmin", false, 400)]
    [InlineData("/get/%zz", false, 400)]
    [InlineData("/svc/Allowed%00", true, 13)]
    public async Task ATargetThatCannotBeNormalizedGets400OrInternal(string path, bool grpc, int expected)
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        (string, string)[] fields = grpc ? H2Wire.GrpcRequest(path) : [(":method", "GET"), (":scheme", "http"), (":authority", "svc"), (":path", path)];
        await client.HeadersAsync(1, true, fields);
        var response = await client.ResponseAsync(1);
        Assert.Equal(expected, grpc ? int.Parse(response.Header("grpc-status")!, System.Globalization.CultureInfo.InvariantCulture) : response.Status);
        Assert.Empty(_origin.Requests);
        var error = _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError);
        Assert.Equal(path, error.HttpUrl);
    }

    [Fact]
    public async Task AHeaderListOverTheLimitGets431AndTheStateStaysInStep()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        var big = Enumerable.Range(0, 40).Select(i => ($"x-field-{i}", new string('v', 1000))).ToArray();
        await client.HeadersAsync(1, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get"), .. big]);
        Assert.Equal(431, (await client.ResponseAsync(1)).Status);
        await client.HeadersAsync(3, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get/after")]);
        Assert.Equal(200, (await client.ResponseAsync(3)).Status);
    }

    [Fact]
    public async Task ContentLengthThatDoesNotMatchTheBodyIsAStreamError()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, false, [.. H2Wire.GrpcRequest("/svc/Allowed"), ("content-length", "10")]);
        await client.DataAsync(1, new byte[5], endStream: true);
        Assert.Equal(Http2ErrorCode.ProtocolError, (await client.ResponseAsync(1)).Reset);
        await client.HeadersAsync(3, false, [.. H2Wire.GrpcRequest("/svc/Allowed"), ("content-length", "2")]);
        await client.DataAsync(3, new byte[5], endStream: false);
        Assert.Equal(Http2ErrorCode.ProtocolError, (await client.ResponseAsync(3)).Reset);
    }

    [Fact]
    public async Task RequestTrailersAndLargeHeaderBlocksAreRelayedAcrossFrames()
    {
        (string, string)[] big = [("x-big-1", new string('r', 9000)), ("x-big-2", new string('s', 9000)), ("x-big-3", new string('t', 9000))];
        _origin.Handler = r => r.RespondAsync(200, [1, 2, 3], big, [("grpc-status", "0"), ("x-trailer", "t")]);
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        // 27 KB of header fields: more than one 16 KB frame on both legs (HEADERS + CONTINUATION).
        await client.HeadersAsync(1, false, [.. H2Wire.GrpcRequest("/svc/Allowed"), .. big]);
        await client.DataAsync(1, H2Wire.GrpcMessage(3), endStream: false);
        await client.HeadersAsync(1, true, [("x-request-trailer", "rt")]);
        var response = await client.ResponseAsync(1);
        Assert.True(response.Ended, response.ToString());
        Assert.Equal(big.Select(b => b.Item2), [response.Header("x-big-1"), response.Header("x-big-2"), response.Header("x-big-3")]);
        Assert.Equal("t", response.Trailer("x-trailer"));
        var request = Assert.Single(_origin.Requests);
        Assert.Equal(big.Select(b => b.Item2), [request.Header("x-big-1"), request.Header("x-big-2"), request.Header("x-big-3")]);
        Assert.Equal("rt", request.Trailers!.Single().Value);
        Assert.Equal(8, request.Body.Length);
    }

    [Fact]
    public async Task StreamsOfOneIdentityShareOneUpstreamConnection()
    {
        var clients = new List<H2Wire>();
        try
        {
            for (var c = 0; c < 3; c++)
            {
                clients.Add(await H2Wire.ConnectAsync(_proxy.EndPoint));
            }

            var calls = clients.SelectMany(c => Enumerable.Range(0, 5).Select(i => (Client: c, Stream: 1 + 2 * i))).ToList();
            foreach (var (c, id) in calls)
            {
                await c.HeadersAsync(id, false, H2Wire.GrpcRequest("/svc/Allowed"));
                await c.DataAsync(id, H2Wire.GrpcMessage(1), endStream: true);
            }

            foreach (var (c, id) in calls)
            {
                Assert.Equal("0", (await c.ResponseAsync(id)).Trailer("grpc-status"));
            }

            Assert.Equal(15, _origin.Requests.Count);
            Assert.Equal(1, _origin.Connections);
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TheUpstreamsConcurrencyLimitOpensFurtherConnections()
    {
        await using var origin = new H2Origin((Http2Setting.MaxConcurrentStreams, 2));
        await using var proxy = await ProxyHarness.StartAsync(origin.EndPoint, new TestPolicySource(Rules()));
        var release = new TaskCompletionSource();
        origin.Handler = r =>
        {
            _ = Task.Run(async () =>
            {
                await release.Task;
                await r.RespondAsync(200, [], null, [("grpc-status", "0")]);
            });
            return Task.CompletedTask;
        };
        await using var client = await H2Wire.ConnectAsync(proxy.EndPoint);
        for (var i = 0; i < 5; i++)
        {
            await client.HeadersAsync(1 + 2 * i, true, H2Wire.GrpcRequest("/svc/Allowed"));
        }

        await WaitUntil(() => origin.Requests.Count == 5);
        Assert.Equal(3, origin.Connections);
        Assert.All(origin.Requests.GroupBy(r => r.ConnectionNumber), g => Assert.True(g.Count() <= 2));
        release.SetResult();
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await client.ResponseAsync(1 + 2 * i)).Ended);
        }
    }

    [Fact]
    public async Task UpstreamFailuresBeforeTheResponseAreUnavailableAndAfterItResetTheStream()
    {
        _origin.Handler = async r =>
        {
            switch (r.Header(":path"))
            {
                case "/svc/Allowed":
                    await r.Connection.RstAsync(r.StreamId, Http2ErrorCode.InternalError);
                    break;
                case "/svc/Stream":
                    await r.Connection.RstAsync(r.StreamId, Http2ErrorCode.RefusedStream);
                    break;
                default:
                    await r.Connection.HeadersAsync(r.StreamId, false, [(":status", "200"), ("content-type", "application/grpc")]);
                    await r.Connection.DataAsync(r.StreamId, [0, 0, 0, 0, 1], endStream: false);
                    await r.Connection.RstAsync(r.StreamId, Http2ErrorCode.Cancel);
                    break;
            }
        };
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, true, H2Wire.GrpcRequest("/svc/Allowed"));
        var unavailable = await client.ResponseAsync(1);
        Assert.Equal(("200", "14"), (unavailable.Header(":status"), unavailable.Header("grpc-status")));
        var failed = _proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, GrpcStatus: 14 });
        Assert.Equal(L7Verdict.Error, failed.Verdict);
        Assert.Contains("InternalError", failed.Detail, StringComparison.Ordinal);

        // REFUSED_STREAM means "not processed": passed on so the client may retry.
        await client.HeadersAsync(3, true, H2Wire.GrpcRequest("/svc/Stream"));
        Assert.Equal(Http2ErrorCode.RefusedStream, (await client.ResponseAsync(3)).Reset);

        await client.HeadersAsync(5, true, H2Wire.GrpcRequest("/svc/Big"));
        var cut = await client.ResponseAsync(5);
        Assert.Equal((200, Http2ErrorCode.Cancel), (cut.Status, cut.Reset));
        _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError && (e.Detail ?? "").Contains("upstream stream failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnreachableUpstreamIsUnavailable()
    {
        // Bound but never listening: connects are refused, and no listener of a parallel test can take the port (a
        // port released after binding could be reused, and the proxy would then reach that listener instead).
        using var closed = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        closed.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var endPoint = (System.Net.IPEndPoint)closed.LocalEndPoint!;
        await using var proxy = await ProxyHarness.StartAsync(endPoint, new TestPolicySource(Rules()));
        await using var client = await H2Wire.ConnectAsync(proxy.EndPoint);
        await client.HeadersAsync(1, true, H2Wire.GrpcRequest("/svc/Allowed"));
        Assert.Equal("14", (await client.ResponseAsync(1)).Header("grpc-status"));
        await client.HeadersAsync(3, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get")]);
        var plain = await client.ResponseAsync(3);
        Assert.Equal((503, "upstream connect error\r\n"), (plain.Status, Encoding.ASCII.GetString(plain.Body.ToArray())));
        var e = proxy.Events.WaitFor(e => e is { Kind: L7EventKind.HttpResponse, HttpStatus: 503 });
        Assert.Equal(L7Verdict.Error, e.Verdict);
        Assert.Contains("ConnectionRefused", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientResetCancelsTheUpstreamStream()
    {
        _origin.Handler = _ => Task.CompletedTask;
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, true, H2Wire.GrpcRequest("/svc/Allowed"));
        await WaitUntil(() => _origin.Requests.Count == 1);
        await client.RstAsync(1, Http2ErrorCode.Cancel);
        await WaitUntil(() => _origin.Requests.Single().ResetByProxy == Http2ErrorCode.Cancel);
    }

    [Fact]
    public async Task ResponsesRespectASmallClientWindow()
    {
        var body = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        _origin.Handler = r => r.RespondAsync(200, body, [("content-type", "application/grpc")], [("grpc-status", "0")]);
        // A 1000-byte stream window and the default 65,535-byte connection window, granted back only in small steps.
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint, true, (Http2Setting.InitialWindowSize, 1000));
        await client.HeadersAsync(1, true, H2Wire.GrpcRequest("/svc/Big"));
        var received = new MemoryStream();
        long streamWindow = 1000, connectionWindow = 65535;
        while (true)
        {
            var frame = await client.NextAsync(f => f.StreamId == 1 || f.Type == Http2FrameType.GoAway);
            Assert.NotNull(frame);
            Assert.NotEqual(Http2FrameType.RstStream, frame.Type);
            if (frame.Type == Http2FrameType.Data)
            {
                streamWindow -= frame.Payload.Length;
                connectionWindow -= frame.Payload.Length;
                Assert.True(streamWindow >= 0 && connectionWindow >= 0, "the proxy sent beyond the client's window");
                received.Write(frame.Payload);
                if (streamWindow == 0)
                {
                    await client.WindowUpdateAsync(1, 1000);
                    streamWindow += 1000;
                }

                if (connectionWindow < 10_000)
                {
                    await client.WindowUpdateAsync(0, 50_000);
                    connectionWindow += 50_000;
                }
            }

            if (frame.Fields is not null && frame.BlockEndsStream)
            {
                break;
            }
        }

        Assert.Equal(body, received.ToArray());
    }

    [Fact]
    public async Task AConnectionWindowUpdateAloneResumesAResponseHeldBackByIt()
    {
        var body = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 3)).ToArray();
        _origin.Handler = r => r.RespondAsync(200, body, [("content-type", "application/grpc")], [("grpc-status", "0")]);
        // The stream window is larger than the body: only the default 65,535-byte connection window holds it back.
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint, true, (Http2Setting.InitialWindowSize, 1_000_000));
        await client.HeadersAsync(1, true, H2Wire.GrpcRequest("/svc/Big"));
        var received = new MemoryStream();
        var granted = false;
        while (true)
        {
            var frame = await client.NextAsync(f => f.StreamId == 1 || f.Type == Http2FrameType.GoAway);
            Assert.NotNull(frame);
            Assert.True(frame.Type is Http2FrameType.Headers or Http2FrameType.Data, frame.ToString());
            received.Write(frame.Payload.AsSpan(0, frame.Type == Http2FrameType.Data ? frame.Payload.Length : 0));
            Assert.True(received.Length <= 65_535 || granted, "the proxy sent beyond the client's connection window");
            if (received.Length == 65_535 && !granted)
            {
                // RFC 9113 §6.9.1: a WINDOW_UPDATE on stream 0 alone lets the held-back data flow again.
                await client.WindowUpdateAsync(0, 1_000_000);
                granted = true;
            }

            if (frame.Fields is not null && frame.BlockEndsStream)
            {
                break;
            }
        }

        Assert.Equal(body, received.ToArray());
    }

    [Fact]
    public async Task UploadsRespectASmallUpstreamWindow()
    {
        await using var origin = new H2Origin((Http2Setting.InitialWindowSize, 1000));
        origin.Handler = r => r.RespondAsync(200, BitConverter.GetBytes(r.Body.Length), null, [("grpc-status", "0")]);
        await using var proxy = await ProxyHarness.StartAsync(origin.EndPoint, new TestPolicySource(Rules()));
        var payload = Enumerable.Range(0, 600_000).Select(i => (byte)(i * 7)).ToArray();
        await using var client = await H2Wire.ConnectAsync(proxy.EndPoint);
        await client.HeadersAsync(1, false, H2Wire.GrpcRequest("/svc/Big"));
        // 600 KB against a 256 KB stream window: the proxy credits the client only as the origin takes the data.
        var sent = 0;
        long window = 256 * 1024;
        while (sent < payload.Length)
        {
            while (window == 0)
            {
                var update = await client.NextAsync(f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 1, 10_000);
                Assert.NotNull(update);
                window += update.WindowIncrement;
            }

            var n = (int)Math.Min(Math.Min(16384, window), payload.Length - sent);
            await client.DataAsync(1, payload.AsSpan(sent, n).ToArray(), sent + n == payload.Length);
            sent += n;
            window -= n;
        }

        var response = await client.ResponseAsync(1, 20_000);
        Assert.True(response.Ended, response.ToString());
        Assert.Equal(payload, origin.Requests.Single().Body.ToArray());
        Assert.Equal((long)payload.Length, BitConverter.ToInt64(response.Body.ToArray()));
        Assert.Equal(0, origin.WindowViolations);
    }

    [Fact]
    public async Task PolicyIsResolvedOncePerConnectionAndAgainWhenTheRevisionMoves()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get/1")]);
        Assert.Equal(200, (await client.ResponseAsync(1)).Status);
        _proxy.Policy.Set(HttpRuleSet.Compile([(new HttpRule(Method: "GET", Path: "/other"), Policy)]));
        await client.HeadersAsync(3, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get/1")]);
        Assert.Equal(403, (await client.ResponseAsync(3)).Status);
        Assert.Equal(2, _proxy.Policy.Resolves);

        // A revision that revokes L3/L4 closes the connection at its next request.
        _proxy.Policy.Set(Rules(), l4Allowed: false);
        await client.HeadersAsync(5, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get/1")]);
        var revoked = await client.ResponseAsync(5);
        Assert.True(revoked.Reset is not null || revoked.GoAway is not null, revoked.ToString());
        _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ConnectionDenied);
    }

    private static async Task WaitUntil(Func<bool> condition, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
