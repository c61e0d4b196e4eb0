using System.Buffers.Binary;
using Membrane.Proxy.Http2;
using Membrane.Proxy.Tests.Support;

namespace Membrane.Proxy.Tests.Http2;

/// <summary>
/// The HTTP/2 front's defences, each driven by a raw client over a real socket: protocol violations close the
/// connection with the right GOAWAY code and an event; floods (rapid reset, CONTINUATION, control frames), slow header
/// blocks and idle connections are cut; stream and window limits hold.
/// </summary>
public sealed class Http2DefenceTests : IAsyncLifetime
{
    private H2Origin _origin = null!;
    private ProxyHarness _proxy = null!;

    public async Task InitializeAsync()
    {
        _origin = new H2Origin();
        var options = new ProxyServerOptions { RequestHeadersTimeout = TimeSpan.FromSeconds(1), KeepAliveTimeout = TimeSpan.FromSeconds(2) };
        _proxy = await ProxyHarness.StartAsync(_origin.EndPoint, new TestPolicySource(Http2ProxyTests.Rules()), options);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _origin.DisposeAsync();
    }

    [Fact]
    public async Task TheFirstFrameMustBeSettings()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint, sendPreface: false);
        await client.SendAsync([.. Http2Constants.ClientPreface.ToArray(), .. H2Wire.Frame(Http2FrameType.Ping, 0, 0, new byte[8])]);
        await ExpectGoAway(client, Http2ErrorCode.ProtocolError, "the first frame is not SETTINGS");
    }

    [Theory]
    [InlineData("oversized frame", (uint)Http2ErrorCode.FrameSizeError, "exceeds the maximum frame size")]
    [InlineData("HPACK index 0", (uint)Http2ErrorCode.CompressionError, "index 0")]
    [InlineData("PUSH_PROMISE", (uint)Http2ErrorCode.ProtocolError, "PUSH_PROMISE")]
    [InlineData("even stream", (uint)Http2ErrorCode.ProtocolError, "even-numbered")]
    [InlineData("window overflow", (uint)Http2ErrorCode.FlowControlError, "above 2^31-1")]
    [InlineData("DATA on an idle stream", (uint)Http2ErrorCode.ProtocolError, "idle stream")]
    [InlineData("interleaved header block", (uint)Http2ErrorCode.ProtocolError, "inside a header block")]
    [InlineData("SETTINGS_INITIAL_WINDOW_SIZE too large", (uint)Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE")]
    [InlineData("padding as long as the frame", (uint)Http2ErrorCode.ProtocolError, "padding")]
    public async Task ProtocolViolationsAreConnectionErrors(string violation, uint code, string detail)
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        var payload = new byte[4];
        byte[] bytes = violation switch
        {
            "oversized frame" => H2Wire.Frame(Http2FrameType.Data, 0, 1, new byte[16385]),
            "HPACK index 0" => H2Wire.Frame(Http2FrameType.Headers, Http2Flags.EndHeaders | Http2Flags.EndStream, 1, [0x80]),
            "PUSH_PROMISE" => H2Wire.Frame(Http2FrameType.PushPromise, Http2Flags.EndHeaders, 1, [0, 0, 0, 2, 0x82]),
            "even stream" => H2Wire.Frame(Http2FrameType.Headers, Http2Flags.EndHeaders | Http2Flags.EndStream, 2, H2Wire.Block((":method", "GET"))),
            "window overflow" => [.. WindowUpdate(0, int.MaxValue)],
            "DATA on an idle stream" => H2Wire.Frame(Http2FrameType.Data, 0, 7, [1]),
            "interleaved header block" => [.. H2Wire.Frame(Http2FrameType.Headers, 0, 1, H2Wire.Block((":method", "GET"))), .. H2Wire.Frame(Http2FrameType.Ping, 0, 0, new byte[8])],
            "SETTINGS_INITIAL_WINDOW_SIZE too large" => H2Wire.SettingsFrame((Http2Setting.InitialWindowSize, 0x80000000)),
            _ => H2Wire.Frame(Http2FrameType.Data, Http2Flags.Padded, 1, [5, 0, 0, 0, 0]),
        };
        await client.SendAsync(bytes);
        await ExpectGoAway(client, (Http2ErrorCode)code, detail);
    }

    [Fact]
    public async Task RapidResetClosesTheConnection()
    {
        _origin.Handler = _ => Task.CompletedTask; // never answers: every stream is reset before its response
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        var batch = new List<byte>();
        var stream = 1;
        var goAway = (H2Frame?)null;
        for (var round = 0; round < 20 && goAway is null; round++)
        {
            batch.Clear();
            for (var i = 0; i < 100; i++, stream += 2)
            {
                batch.AddRange(H2Wire.Frame(Http2FrameType.Headers, Http2Flags.EndHeaders | Http2Flags.EndStream, stream, H2Wire.Block(H2Wire.GrpcRequest("/svc/Allowed"))));
                batch.AddRange(Rst(stream));
            }

            try
            {
                await client.SendAsync([.. batch]);
            }
            catch (System.Net.Sockets.SocketException)
            {
                break;
            }

            goAway = await client.NextAsync(f => f.Type == Http2FrameType.GoAway, 100);
        }

        goAway ??= await client.GoAwayAsync();
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, goAway.ErrorCode);
        Assert.InRange(stream, 1000, 1400); // cut at 500 premature resets, within the batch that crossed the line
        _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError && (e.Detail ?? "").Contains("rapid reset", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StreamsOverTheConcurrencyLimitAreRefused()
    {
        _origin.Handler = _ => Task.CompletedTask;
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        var frames = new List<byte>();
        for (var i = 0; i < 251; i++)
        {
            // HEADERS without END_STREAM: each request stays open, waiting for its body.
            frames.AddRange(H2Wire.Frame(Http2FrameType.Headers, Http2Flags.EndHeaders, 1 + 2 * i, H2Wire.Block(H2Wire.GrpcRequest("/svc/Allowed"))));
        }

        await client.SendAsync([.. frames]);
        var refused = await client.NextAsync(f => f.Type == Http2FrameType.RstStream);
        Assert.Equal((501, Http2ErrorCode.RefusedStream), (refused!.StreamId, refused.ErrorCode));
        await WaitUntil(() => _origin.Requests.Count == 250);
        Assert.Null(await client.NextAsync(f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway, 300));
    }

    [Fact]
    public async Task AContinuationFloodIsCut()
    {
        await using var client = await Settled(_proxy.EndPoint);
        // Valid HPACK (literal fields), never ending: the proxy decodes as it goes and stops at its block limit.
        var fragment = H2Wire.Block([.. Enumerable.Range(0, 140).Select(i => ("x-flood", new string('f', 100)))]);
        await client.SendAsync(H2Wire.Frame(Http2FrameType.Headers, 0, 1, H2Wire.Block(H2Wire.GrpcRequest("/svc/Allowed"))));
        // Sent back to back: the block passes its 256 KB limit within the fixture's 1 s header-block timeout even on a
        // loaded machine (waiting between fragments let that timeout win the race).
        for (var i = 0; i < 20; i++)
        {
            try
            {
                await client.SendAsync(H2Wire.Frame(Http2FrameType.Continuation, 0, 1, fragment));
            }
            catch (System.Net.Sockets.SocketException)
            {
                break;
            }
        }

        var goAway = await client.GoAwayAsync();
        Assert.True(goAway!.ErrorCode == Http2ErrorCode.EnhanceYourCalm, $"{goAway.ErrorCode}: {string.Join(" | ", _proxy.Events.Events.Select(e => e.Detail))}");
        Assert.Empty(_origin.Requests);
        _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError && (e.Detail ?? "").Contains("CONTINUATION flood", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AControlFrameFloodIsCut()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        var pings = new List<byte>();
        for (var i = 0; i < 10_500; i++)
        {
            pings.AddRange(H2Wire.Frame(Http2FrameType.Ping, 0, 0, new byte[8]));
        }

        await client.SendAsync([.. pings]);
        await ExpectGoAway(client, Http2ErrorCode.EnhanceYourCalm, "flood");
    }

    [Fact]
    public async Task AHeaderBlockThatDoesNotCompleteInTimeIsCut()
    {
        await using var client = await Settled(_proxy.EndPoint);
        await client.SendAsync(H2Wire.Frame(Http2FrameType.Headers, 0, 1, H2Wire.Block((":method", "GET"))));
        var started = Environment.TickCount64;
        await ExpectGoAway(client, Http2ErrorCode.ProtocolError, "not completed in time", 5000);
        Assert.InRange(Environment.TickCount64 - started, 500, 4000);
    }

    [Fact]
    public async Task AnIdleConnectionIsClosedAfterTheKeepAliveTimeout()
    {
        await using var client = await H2Wire.ConnectAsync(_proxy.EndPoint);
        await client.HeadersAsync(1, true, [(":method", "GET"), (":scheme", "http"), (":path", "/get")]);
        Assert.Equal(200, (await client.ResponseAsync(1)).Status);
        var goAway = await client.GoAwayAsync(6000);
        Assert.Equal((Http2ErrorCode.NoError, 1), (goAway!.ErrorCode, BinaryPrimitives.ReadInt32BigEndian(goAway.Payload)));
    }

    [Fact]
    public async Task DataBeyondTheStreamWindowIsAStreamError()
    {
        // The origin never opens its window: the proxy holds the request data, so the client's window is not credited.
        await using var origin = new H2Origin((Http2Setting.InitialWindowSize, 0));
        await using var proxy = await ProxyHarness.StartAsync(origin.EndPoint, new TestPolicySource(Http2ProxyTests.Rules()));
        await using var client = await H2Wire.ConnectAsync(proxy.EndPoint);
        await client.HeadersAsync(1, false, H2Wire.GrpcRequest("/svc/Allowed"));
        await WaitUntil(() => origin.Requests.Count == 1);
        for (var sent = 0; sent < 256 * 1024; sent += 16384)
        {
            await client.DataAsync(1, new byte[16384], endStream: false);
        }

        await client.DataAsync(1, [1], endStream: false);
        var reset = await client.NextAsync(f => f.Type == Http2FrameType.RstStream && f.StreamId == 1);
        Assert.Equal(Http2ErrorCode.FlowControlError, reset!.ErrorCode);
        await WaitUntil(() => origin.Requests.SingleOrDefault()?.ResetByProxy == Http2ErrorCode.Cancel, message: () => $"origin saw {origin.Requests.Count} requests, reset {origin.Requests.SingleOrDefault()?.ResetByProxy}");
        Assert.Equal(0, origin.Requests.Single().Body.Length);
    }

    private static byte[] WindowUpdate(int stream, int increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, increment);
        return H2Wire.Frame(Http2FrameType.WindowUpdate, 0, stream, payload);
    }

    private static byte[] Rst(int stream)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)Http2ErrorCode.Cancel);
        return H2Wire.Frame(Http2FrameType.RstStream, 0, stream, payload);
    }

    private async Task ExpectGoAway(H2Wire client, Http2ErrorCode code, string detail, int timeoutMs = 5000)
    {
        var goAway = await client.GoAwayAsync(timeoutMs);
        Assert.NotNull(goAway);
        Assert.Equal(code, goAway.ErrorCode);
        Assert.Null(await client.NextAsync(f => f.Type != Http2FrameType.Ping, 2000)); // and the connection closes
        Assert.True(client.Closed);
        _proxy.Events.WaitFor(e => e.Kind == L7EventKind.ProtocolError && (e.Detail ?? "").Contains(detail, StringComparison.Ordinal));
    }

    /// <summary>A client whose SETTINGS exchange is done (so no acknowledgement falls inside a header block later).</summary>
    private static async Task<H2Wire> Settled(System.Net.IPEndPoint endPoint)
    {
        var client = await H2Wire.ConnectAsync(endPoint);
        Assert.NotNull(await client.NextAsync(f => f.Type == Http2FrameType.Settings && (f.Flags & Http2Flags.Ack) == 0));
        await client.SettingsAckAsync();
        Assert.NotNull(await client.NextAsync(f => f.Type == Http2FrameType.Settings && (f.Flags & Http2Flags.Ack) != 0));
        return client;
    }

    private static async Task WaitUntil(Func<bool> condition, int timeoutMs = 5000, Func<string>? message = null)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, message?.Invoke() ?? "condition not met in time");
            await Task.Delay(10);
        }
    }
}
