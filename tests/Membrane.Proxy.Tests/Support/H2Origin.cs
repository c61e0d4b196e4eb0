using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Membrane.Proxy.Http2;

namespace Membrane.Proxy.Tests.Support;

/// <summary>One request as the origin received it.</summary>
internal sealed class H2Request
{
    public required H2Wire Connection { get; init; }

    public required int ConnectionNumber { get; init; }

    public required int StreamId { get; init; }

    public required List<(string Name, string Value)> Headers { get; init; }

    public List<(string Name, string Value)>? Trailers { get; set; }

    public MemoryStream Body { get; } = new();

    public Http2ErrorCode? ResetByProxy { get; set; }

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name == name).Value;

    public Task RespondAsync(int status, byte[]? body = null, (string, string)[]? headers = null, (string, string)[]? trailers = null) =>
        H2Origin.RespondAsync(Connection, StreamId, status, body, headers, trailers);
}

/// <summary>
/// A raw HTTP/2 (h2c) origin for tests: records every request exactly as the proxy sent it (fields, body, trailers,
/// resets) and answers as <see cref="Handler"/> says (default: 200 with the request body echoed and
/// <c>grpc-status: 0</c> trailers). Counts its connections, so tests can see multiplexing.
/// </summary>
internal sealed class H2Origin : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<H2Wire> _connections = [];
    private readonly List<Task> _tasks = [];
    private readonly (Http2Setting, uint)[] _settings;
    private int _connectionCount;

    public H2Origin(params (Http2Setting, uint)[] settings)
    {
        _settings = settings;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _tasks.Add(Task.Run(AcceptLoopAsync));
    }

    public IPEndPoint EndPoint { get; }

    public ConcurrentQueue<H2Request> Requests { get; } = new();

    public int Connections => Volatile.Read(ref _connectionCount);

    /// <summary>DATA frames the proxy sent beyond the window this origin advertised (must stay 0).</summary>
    public int WindowViolations => Volatile.Read(ref _violations);

    private int _violations;

    /// <summary>Called once a request ended (END_STREAM); runs on the connection's loop.</summary>
    public Func<H2Request, Task> Handler { get; set; } = r => r.RespondAsync(200, r.Body.ToArray(), [("content-type", "application/grpc")], [("grpc-status", "0")]);

    /// <summary>Called when a request's HEADERS arrive, before its body (for requests that never end).</summary>
    public Func<H2Request, Task>? OnHeaders { get; set; }

    public static async Task RespondAsync(H2Wire wire, int streamId, int status, byte[]? body, (string, string)[]? headers, (string, string)[]? trailers)
    {
        var fields = new List<(string, string)> { (":status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        fields.AddRange(headers ?? []);
        var bodyEnds = trailers is null;
        await wire.HeadersAsync(streamId, body is null && bodyEnds, [.. fields]);
        if (body is not null)
        {
            for (var offset = 0; offset < body.Length || offset == 0; offset += 16384)
            {
                var n = Math.Min(16384, body.Length - offset);
                var last = offset + n >= body.Length;
                await wire.DataAsync(streamId, body.AsSpan(offset, n).ToArray(), last && bodyEnds);
                if (body.Length == 0)
                {
                    break;
                }
            }
        }

        if (trailers is not null)
        {
            await wire.HeadersAsync(streamId, true, trailers);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var c in _connections)
        {
            await c.DisposeAsync();
        }

        try
        {
            await Task.WhenAll(_tasks.ToArray()).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            var wire = H2Wire.Accept(socket);
            _connections.Add(wire);
            var number = Interlocked.Increment(ref _connectionCount);
            lock (_tasks)
            {
                _tasks.Add(Task.Run(() => ServeAsync(wire, number)));
            }
        }
    }

    private async Task ServeAsync(H2Wire wire, int number)
    {
        var streams = new Dictionary<int, H2Request>();
        var initialWindow = _settings.Where(s => s.Item1 == Http2Setting.InitialWindowSize).Select(s => (long)s.Item2).DefaultIfEmpty(65535).First();
        var windows = new Dictionary<int, long>();
        long connectionWindow = 65535;
        try
        {
            await wire.SendAsync(H2Wire.SettingsFrame(_settings));
            while (!_stop.IsCancellationRequested)
            {
                var frame = await wire.NextAsync(60_000);
                if (frame is null)
                {
                    return;
                }

                switch (frame.Type)
                {
                    case Http2FrameType.Settings when (frame.Flags & Http2Flags.Ack) == 0:
                        await wire.SettingsAckAsync();
                        break;
                    case Http2FrameType.Ping when (frame.Flags & Http2Flags.Ack) == 0:
                        await wire.SendAsync(H2Wire.Frame(Http2FrameType.Ping, Http2Flags.Ack, 0, frame.Payload));
                        break;
                    case Http2FrameType.Headers or Http2FrameType.Continuation when frame.Fields is { } fields:
                        if (streams.TryGetValue(frame.StreamId, out var existing))
                        {
                            existing.Trailers = fields;
                        }
                        else
                        {
                            existing = new H2Request { Connection = wire, ConnectionNumber = number, StreamId = frame.StreamId, Headers = fields };
                            streams[frame.StreamId] = existing;
                            Requests.Enqueue(existing);
                            if (OnHeaders is { } onHeaders)
                            {
                                await onHeaders(existing);
                            }
                        }

                        if (frame.BlockEndsStream)
                        {
                            await Handler(existing);
                        }

                        break;
                    case Http2FrameType.Data when streams.TryGetValue(frame.StreamId, out var request):
                        var window = windows.GetValueOrDefault(frame.StreamId, initialWindow) - frame.Payload.Length;
                        connectionWindow -= frame.Payload.Length;
                        if (window < 0 || connectionWindow < 0)
                        {
                            Interlocked.Increment(ref _violations);
                        }

                        windows[frame.StreamId] = window + frame.Payload.Length;
                        connectionWindow += frame.Payload.Length;
                        request.Body.Write(frame.Payload);
                        if (frame.Payload.Length > 0)
                        {
                            await wire.WindowUpdateAsync(frame.StreamId, frame.Payload.Length);
                            await wire.WindowUpdateAsync(0, frame.Payload.Length);
                        }

                        if (frame.EndStream)
                        {
                            await Handler(request);
                        }

                        break;
                    case Http2FrameType.RstStream when streams.TryGetValue(frame.StreamId, out var reset):
                        reset.ResetByProxy = frame.ErrorCode;
                        break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
