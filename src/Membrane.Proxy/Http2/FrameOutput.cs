using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Membrane.Proxy.Http2;

/// <summary>Told when an output can take data again, or is gone.</summary>
internal interface IFrameOutputOwner
{
    /// <summary>The output's buffer drained: streams held back by it may write now (called under the route's gate).</summary>
    void OnOutputWritable();

    /// <summary>The transport failed or was closed (called under the route's gate).</summary>
    void OnOutputFailed(Exception? error);
}

/// <summary>
/// Frames written by one session to its peer. Everything runs under the route's gate: frames are appended to a
/// buffer, and at the end of each batch of work the route flushes every output it touched, so frames produced by one
/// read (for several streams, even several connections) leave in one write. While a send is incomplete, further
/// frames accumulate; DATA is held back (<see cref="CanWriteData"/>) once 64 KB are waiting, which is where flow
/// control towards a slow reader starts.
/// </summary>
internal abstract class FrameOutput
{
    private const int DataBackpressureBytes = 64 * 1024;

    private readonly Http2Route _route;
    private readonly int _maxBufferedBytes;
    private byte[] _buffer;
    private int _length;
    private bool _flushing;

    protected FrameOutput(Http2Route route, IFrameOutputOwner owner, int maxBufferedBytes)
    {
        _route = route;
        Owner = owner;
        _maxBufferedBytes = maxBufferedBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    }

    /// <summary>The session the output belongs to.</summary>
    public IFrameOutputOwner Owner { get; }

    /// <summary>True while the route's flush list holds this output.</summary>
    public bool Touched { get; set; }

    /// <summary>True once the transport failed or the output was closed.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>True while a send to the peer has not completed.</summary>
    public bool IsSending { get; protected set; }

    /// <summary>Environment.TickCount64 when the incomplete send started (for the stall deadline), else 0.</summary>
    public long SendingSince { get; protected set; }

    /// <summary>Bytes written and not yet handed to the transport.</summary>
    public int Buffered => _length;

    /// <summary>True when DATA may be written now (buffer below the backpressure mark, output open).</summary>
    public bool CanWriteData => !IsClosed && _length < DataBackpressureBytes;

    /// <summary>True when the peer has stopped reading for so long that the buffer passed its hard limit.</summary>
    public bool IsOverflowing => _length > _maxBufferedBytes;

    /// <summary>A span of at least <paramref name="size"/> bytes to write frames into; commit with <see cref="Advance"/>.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - _length < size)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + size));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer.AsSpan(_length);
    }

    /// <summary>Commits bytes written into <see cref="GetSpan"/> and schedules the output for the batch's flush.</summary>
    public void Advance(int count)
    {
        _length += count;
        _route.Touch(this);
    }

    /// <summary>Writes bytes as they are.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    /// <summary>
    /// Hands what was written to the transport; while sends complete at once, lets the owner write more (streams
    /// held back by this output) and sends that too. Called under the route's gate.
    /// </summary>
    public void Flush()
    {
        if (_flushing || IsClosed)
        {
            return;
        }

        _flushing = true;
        try
        {
            while (!IsSending && !IsClosed)
            {
                if (_length > 0)
                {
                    var length = _length;
                    _length = 0;
                    Transmit(ref _buffer, length);
                    continue;
                }

                var before = _length;
                Owner.OnOutputWritable();
                if (_length == before)
                {
                    break;
                }
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    /// <summary>Closes the output: nothing more is sent; buffered bytes are dropped.</summary>
    public void Close()
    {
        if (IsClosed)
        {
            return;
        }

        IsClosed = true;
        _length = 0;
        CloseTransport();
    }

    /// <summary>
    /// Sends <paramref name="length"/> bytes of <paramref name="buffer"/>. A synchronous completion leaves
    /// <see cref="IsSending"/> false; otherwise the implementation sets it and calls <see cref="SendCompleted"/> later
    /// (it may swap <paramref name="buffer"/> for a free one while the kernel holds the first).
    /// </summary>
    protected abstract void Transmit(ref byte[] buffer, int length);

    /// <summary>Closes the transport (the session tears down its side).</summary>
    protected abstract void CloseTransport();

    /// <summary>Takes back a buffer the transport held during an incomplete send (under the gate).</summary>
    protected virtual void Reclaim(byte[] buffer)
    {
    }

    /// <summary>An incomplete send finished (any thread): continue under the gate.</summary>
    protected void SendCompleted(Exception? error, byte[]? released = null)
    {
        lock (_route.Gate)
        {
            if (released is not null)
            {
                Reclaim(released);
            }

            IsSending = false;
            SendingSince = 0;
            if (error is not null)
            {
                Fail(error);
            }
            else
            {
                Flush();
            }

            _route.FlushTouched();
        }
    }

    /// <summary>The transport failed: the output closes and its owner is told.</summary>
    protected void Fail(Exception? error)
    {
        if (IsClosed)
        {
            return;
        }

        Close();
        Owner.OnOutputFailed(error);
    }
}

/// <summary>The client leg: Kestrel's transport pipe (inline scheduling makes its flush a direct socket send).</summary>
internal sealed class PipeFrameOutput(Http2Route route, IFrameOutputOwner owner, PipeWriter writer, int maxBufferedBytes) : FrameOutput(route, owner, maxBufferedBytes)
{
    protected override void Transmit(ref byte[] buffer, int length)
    {
        ValueTask<FlushResult> flush;
        try
        {
            writer.Write(buffer.AsSpan(0, length));
            flush = writer.FlushAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ObjectDisposedException)
        {
            Fail(e);
            return;
        }

        if (flush.IsCompletedSuccessfully)
        {
            if (flush.Result.IsCompleted)
            {
                Fail(null);
            }

            return;
        }

        IsSending = true;
        SendingSince = Environment.TickCount64;
        _ = AwaitFlushAsync(flush);
    }

    protected override void CloseTransport()
    {
    }

    private async Task AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        Exception? error = null;
        try
        {
            var result = await flush.ConfigureAwait(false);
            if (result.IsCompleted || result.IsCanceled)
            {
                error = new IOException("the client connection closed");
            }
        }
        catch (Exception e)
        {
            error = e;
        }

        SendCompleted(error);
    }
}

/// <summary>The upstream leg: the proxy's own socket; a spare buffer takes new frames while the kernel holds the other.</summary>
internal sealed class SocketFrameOutput(Http2Route route, IFrameOutputOwner owner, Socket socket, int maxBufferedBytes) : FrameOutput(route, owner, maxBufferedBytes)
{
    private byte[]? _spare = ArrayPool<byte>.Shared.Rent(16 * 1024);

    protected override void Transmit(ref byte[] buffer, int length)
    {
        ValueTask<int> send;
        try
        {
            send = socket.SendAsync(buffer.AsMemory(0, length), SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Fail(e);
            return;
        }

        if (send.IsCompletedSuccessfully)
        {
            return;
        }

        IsSending = true;
        SendingSince = Environment.TickCount64;
        var inFlight = buffer;
        buffer = _spare ?? ArrayPool<byte>.Shared.Rent(16 * 1024);
        _spare = null;
        _ = AwaitSendAsync(send, inFlight);
    }

    protected override void CloseTransport()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    private async Task AwaitSendAsync(ValueTask<int> send, byte[] inFlight)
    {
        Exception? error = null;
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            error = e;
        }

        SendCompleted(error, inFlight);
    }

    protected override void Reclaim(byte[] buffer)
    {
        if (_spare is null)
        {
            _spare = buffer;
        }
        else
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
