using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Membrane.Proxy.Http;
using Membrane.Proxy.Http2;
using Membrane.Proxy.Http2.Hpack;

namespace Membrane.Proxy.Tests.Support;

/// <summary>A frame as a test peer saw it.</summary>
internal sealed record H2Frame(Http2FrameType Type, byte Flags, int StreamId, byte[] Payload)
{
    /// <summary>For the frame that ends a header block: the block's fields (decoded in arrival order).</summary>
    public List<(string Name, string Value)>? Fields { get; set; }

    /// <summary>For the frame that ends a header block: END_STREAM of the HEADERS frame that opened it.</summary>
    public bool BlockEndsStream { get; set; }

    public bool EndStream => (Flags & Http2Flags.EndStream) != 0 && Type is Http2FrameType.Data or Http2FrameType.Headers;

    public Http2ErrorCode ErrorCode => Type == Http2FrameType.RstStream
        ? (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Payload)
        : (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4));

    public int WindowIncrement => (int)(BinaryPrimitives.ReadUInt32BigEndian(Payload) & 0x7FFFFFFF);

    public override string ToString() => $"{Type} flags={Flags:x} stream={StreamId} length={Payload.Length}";
}

/// <summary>
/// One raw HTTP/2 connection for tests (either side): writes exactly the frames a test asks for, including invalid
/// ones, and reads every frame into a queue. Header blocks are encoded without the dynamic table and decoded with the
/// proxy's HPACK decoder (checked on its own against RFC 7541's examples).
/// </summary>
internal sealed class H2Wire : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Channel<H2Frame> _frames = Channel.CreateUnbounded<H2Frame>();
    private readonly List<H2Frame> _stash = [];
    private readonly HpackDecoder _decoder = new();
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly Task _reader;

    private H2Wire(Socket socket, bool readPreface = false)
    {
        _socket = socket;
        _readPreface = readPreface;
        _reader = Task.Run(ReadLoopAsync);
    }

    private readonly bool _readPreface;

    /// <summary>The origin side: whether the connection started with a valid client preface.</summary>
    public bool PrefaceSeen { get; private set; }

    /// <summary>Set once the peer closed the connection (after every frame it sent was queued).</summary>
    public bool Closed { get; private set; }

    /// <summary>Connects as a client: preface, then SETTINGS with <paramref name="settings"/>.</summary>
    public static async Task<H2Wire> ConnectAsync(IPEndPoint endPoint, bool sendPreface = true, params (Http2Setting, uint)[] settings)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        var wire = new H2Wire(socket);
        if (sendPreface)
        {
            await wire.SendAsync([.. Http2Constants.ClientPreface.ToArray(), .. SettingsFrame(settings)]);
        }

        return wire;
    }

    /// <summary>Wraps an accepted socket (the origin side; the caller reads the preface).</summary>
    public static H2Wire Accept(Socket socket) => new(socket, readPreface: true);

    public static byte[] Frame(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        Http2FrameWriter.WriteHeader(frame, payload.Length, type, flags, streamId);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    public static byte[] SettingsFrame(params (Http2Setting Id, uint Value)[] settings)
    {
        var frame = new byte[9 + 6 * settings.Length];
        Http2FrameWriter.Settings(frame, false, settings);
        return frame;
    }

    /// <summary>An HPACK block of literal fields (never indexed when the name starts with '!', which is stripped).</summary>
    public static byte[] Block(params (string Name, string Value)[] fields)
    {
        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            var never = name.StartsWith('!');
            var n = Encoding.Latin1.GetBytes(never ? name[1..] : name);
            var v = Encoding.Latin1.GetBytes(value);
            var buffer = new byte[HpackEncoder.MaxEncodedLength(n.Length, v.Length)];
            block.AddRange(buffer.AsSpan(0, HpackEncoder.Encode(n, v, never, buffer)).ToArray());
        }

        return [.. block];
    }

    public static (string, string)[] GrpcRequest(string path, string authority = "catalog") =>
        [(":method", "POST"), (":scheme", "http"), (":authority", authority), (":path", path), ("content-type", "application/grpc"), ("te", "trailers")];

    public static byte[] GrpcMessage(int size)
    {
        var message = new byte[5 + size];
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), size);
        return message;
    }

    public Task SendAsync(byte[] bytes) => SendAsync(bytes, CancellationToken.None);

    public async Task SendAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>A header block as HEADERS and, past 16 KB, CONTINUATION frames, sent in one write.</summary>
    public Task HeadersAsync(int streamId, bool endStream, params (string, string)[] fields)
    {
        var block = Block(fields);
        var frames = new List<byte>();
        var offset = 0;
        do
        {
            var n = Math.Min(16384, block.Length - offset);
            var last = offset + n == block.Length;
            var type = offset == 0 ? Http2FrameType.Headers : Http2FrameType.Continuation;
            var flags = (byte)((last ? Http2Flags.EndHeaders : 0) | (offset == 0 && endStream ? Http2Flags.EndStream : 0));
            frames.AddRange(Frame(type, flags, streamId, block.AsSpan(offset, n)));
            offset += n;
        }
        while (offset < block.Length);
        return SendAsync([.. frames]);
    }

    public Task DataAsync(int streamId, byte[] data, bool endStream) =>
        SendAsync(Frame(Http2FrameType.Data, endStream ? Http2Flags.EndStream : (byte)0, streamId, data));

    public Task RstAsync(int streamId, Http2ErrorCode code)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)code);
        return SendAsync(Frame(Http2FrameType.RstStream, 0, streamId, payload));
    }

    public Task WindowUpdateAsync(int streamId, int increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        return SendAsync(Frame(Http2FrameType.WindowUpdate, 0, streamId, payload));
    }

    public Task SettingsAckAsync() => SendAsync(Frame(Http2FrameType.Settings, Http2Flags.Ack, 0, []));

    /// <summary>The next frame, or null when the connection closed or nothing came within <paramref name="timeoutMs"/>.</summary>
    public async Task<H2Frame?> NextAsync(int timeoutMs = 5000)
    {
        if (_stash.Count > 0)
        {
            var first = _stash[0];
            _stash.RemoveAt(0);
            return first;
        }

        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            return await _frames.Reader.ReadAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>The next frame matching <paramref name="predicate"/>, skipping (and acknowledging SETTINGS of) others.</summary>
    public async Task<H2Frame?> NextAsync(Func<H2Frame, bool> predicate, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            var left = (int)(deadline - Environment.TickCount64);
            var frame = left > 0 ? await NextAsync(left) : null;
            if (frame is null || predicate(frame))
            {
                return frame;
            }

            if (frame.Type == Http2FrameType.Settings && (frame.Flags & Http2Flags.Ack) == 0)
            {
                await SettingsAckAsync();
            }
        }
    }

    /// <summary>Waits for the GOAWAY the peer sends (null if it closes or stays silent without one).</summary>
    public Task<H2Frame?> GoAwayAsync(int timeoutMs = 5000) => NextAsync(f => f.Type == Http2FrameType.GoAway, timeoutMs);

    /// <summary>
    /// Reads one stream's response as a client: headers, body, trailers and how it ended (END_STREAM or a reset), and
    /// grants window as data arrives. Frames of other streams are set aside for later calls.
    /// </summary>
    public async Task<H2Response> ResponseAsync(int streamId, int timeoutMs = 10_000, bool grantWindow = true)
    {
        var response = new H2Response();
        var deadline = Environment.TickCount64 + timeoutMs;
        var aside = new List<H2Frame>();
        var stashed = _stash.ToList();
        _stash.Clear();
        try
        {
            while (true)
            {
                H2Frame? frame;
                if (stashed.Count > 0)
                {
                    frame = stashed[0];
                    stashed.RemoveAt(0);
                }
                else
                {
                    var left = (int)(deadline - Environment.TickCount64);
                    frame = left > 0 ? await NextAsync(left) : null;
                }

                if (frame is null)
                {
                    response.TimedOut = !Closed;
                    return response;
                }

                if (frame.Type == Http2FrameType.Settings && (frame.Flags & Http2Flags.Ack) == 0)
                {
                    await SettingsAckAsync();
                    continue;
                }

                if (frame.Type == Http2FrameType.GoAway)
                {
                    response.GoAway = frame.ErrorCode;
                    return response;
                }

                if (frame.StreamId != streamId)
                {
                    aside.Add(frame);
                    continue;
                }

                if (frame.Fields is { } fields)
                {
                    if (response.Headers is null || response.Headers.Any(f => f.Name == ":status" && f.Value[0] == '1'))
                    {
                        response.Headers = fields;
                    }
                    else
                    {
                        response.Trailers = fields;
                    }

                    if (frame.BlockEndsStream)
                    {
                        response.Ended = true;
                        return response;
                    }
                }

                if (frame.Type == Http2FrameType.Data)
                {
                    response.Body.Write(frame.Payload);
                    response.DataFrames++;
                    if (frame.Payload.Length > 0 && grantWindow)
                    {
                        await WindowUpdateAsync(streamId, frame.Payload.Length);
                        await WindowUpdateAsync(0, frame.Payload.Length);
                    }

                    if (frame.EndStream)
                    {
                        response.Ended = true;
                        return response;
                    }
                }

                if (frame.Type == Http2FrameType.RstStream)
                {
                    response.Reset = frame.ErrorCode;
                    return response;
                }
            }
        }
        finally
        {
            _stash.AddRange(aside);
            _stash.AddRange(stashed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        await _reader.ConfigureAwait(false);
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[256 * 1024];
        var length = 0;
        List<byte>? block = null;
        var blockEndsStream = false;
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                length += n;
                var offset = 0;
                if (_readPreface && !PrefaceSeen)
                {
                    if (length < 24)
                    {
                        continue;
                    }

                    if (!buffer.AsSpan(0, 24).SequenceEqual(Http2Constants.ClientPreface))
                    {
                        break;
                    }

                    PrefaceSeen = true;
                    offset = 24;
                }

                while (length - offset >= 9)
                {
                    var size = (buffer[offset] << 16) | (buffer[offset + 1] << 8) | buffer[offset + 2];
                    if (length - offset < 9 + size)
                    {
                        break;
                    }

                    var id = (int)(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(offset + 5)) & 0x7FFFFFFF);
                    var frame = new H2Frame((Http2FrameType)buffer[offset + 3], buffer[offset + 4], id, buffer.AsSpan(offset + 9, size).ToArray());
                    if (frame.Type is Http2FrameType.Headers or Http2FrameType.Continuation)
                    {
                        // Header blocks are decoded here, in arrival order: the HPACK state is the connection's.
                        var payload = frame.Payload.AsSpan();
                        if (frame.Type == Http2FrameType.Headers)
                        {
                            block = [];
                            blockEndsStream = (frame.Flags & Http2Flags.EndStream) != 0;
                            var pad = (frame.Flags & Http2Flags.Padded) != 0 ? payload[0] : 0;
                            payload = payload[((frame.Flags & Http2Flags.Padded) != 0 ? 1 : 0)..(payload.Length - pad)];
                            if ((frame.Flags & Http2Flags.Priority) != 0)
                            {
                                payload = payload[5..];
                            }
                        }

                        block?.AddRange(payload.ToArray());
                        if ((frame.Flags & Http2Flags.EndHeaders) != 0 && block is not null)
                        {
                            var list = new HeaderList(1 << 20, 10_000);
                            if (_decoder.Decode(block.ToArray(), true, list, out _) == ParseStatus.Complete)
                            {
                                frame.Fields = [.. Enumerable.Range(0, list.Count).Select(i => (Encoding.Latin1.GetString(list.Name(i)), Encoding.Latin1.GetString(list.Value(i))))];
                                frame.BlockEndsStream = blockEndsStream;
                            }

                            block = null;
                        }
                    }

                    _frames.Writer.TryWrite(frame);
                    offset += 9 + size;
                }

                buffer.AsSpan(offset, length - offset).CopyTo(buffer);
                length -= offset;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        Closed = true;
        _frames.Writer.TryComplete();
    }
}

/// <summary>A response as <see cref="H2Wire.ResponseAsync"/> read it.</summary>
internal sealed class H2Response
{
    public List<(string Name, string Value)>? Headers { get; set; }

    public List<(string Name, string Value)>? Trailers { get; set; }

    public MemoryStream Body { get; } = new();

    public bool Ended { get; set; }

    public Http2ErrorCode? Reset { get; set; }

    public Http2ErrorCode? GoAway { get; set; }

    public bool TimedOut { get; set; }

    public int DataFrames { get; set; }

    public string? Header(string name) => Headers?.FirstOrDefault(h => h.Name == name).Value;

    public string? Trailer(string name) => Trailers?.FirstOrDefault(h => h.Name == name).Value;

    public int Status => int.Parse(Header(":status") ?? "0", System.Globalization.CultureInfo.InvariantCulture);

    public override string ToString() =>
        $"status={Header(":status")} headers=[{string.Join(", ", Headers ?? [])}] trailers=[{string.Join(", ", Trailers ?? [])}] body={Body.Length} ended={Ended} reset={Reset} goaway={GoAway} timedOut={TimedOut}";
}
