using System.Buffers;

namespace Membrane.Proxy.Http2;

/// <summary>
/// What one direction of a stream still has to send while flow control or a slow peer holds it back: DATA bytes in
/// order (in pooled 16 KB chunks), then how the direction ends (END_STREAM on the last DATA, or a trailers block). Used
/// only when the fast path cannot write straight through; empty, it holds no buffer.
/// </summary>
internal sealed class DataQueue
{
    private const int ChunkSize = 16 * 1024;
    private readonly Queue<byte[]> _chunks = new();
    private byte[]? _tail;
    private int _headOffset;
    private int _tailLength;
    private byte[]? _trailers;
    private int _trailersLength;

    /// <summary>Data bytes waiting.</summary>
    public long Length { get; private set; }

    /// <summary>True when the direction ends once the data is out (END_STREAM on the last DATA or with trailers).</summary>
    public bool EndPending { get; set; }

    /// <summary>An encoded trailers block to send after the data (with END_STREAM), or empty.</summary>
    public ReadOnlySpan<byte> Trailers => _trailers is null ? default : _trailers.AsSpan(0, _trailersLength);

    /// <summary>True when there is data, trailers or a pending end.</summary>
    public bool HasWork => Length > 0 || EndPending;

    /// <summary>Appends data bytes.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_chunks.Count == 0 || _tailLength == ChunkSize)
            {
                _tail = ArrayPool<byte>.Shared.Rent(ChunkSize);
                _chunks.Enqueue(_tail);
                _tailLength = 0;
            }

            var tail = _tail!;
            var n = Math.Min(data.Length, ChunkSize - _tailLength);
            data[..n].CopyTo(tail.AsSpan(_tailLength));
            _tailLength += n;
            Length += n;
            data = data[n..];
        }
    }

    /// <summary>Appends every segment of <paramref name="data"/>.</summary>
    public void Append(in ReadOnlySequence<byte> data)
    {
        foreach (var segment in data)
        {
            Append(segment.Span);
        }
    }

    /// <summary>Stores an encoded trailers block to follow the data.</summary>
    public void SetTrailers(ReadOnlySpan<byte> block)
    {
        _trailers = ArrayPool<byte>.Shared.Rent(Math.Max(block.Length, 1));
        block.CopyTo(_trailers);
        _trailersLength = block.Length;
        EndPending = true;
    }

    /// <summary>The first contiguous run of waiting data, at most <paramref name="max"/> bytes.</summary>
    public ReadOnlySpan<byte> Peek(int max)
    {
        if (Length == 0)
        {
            return default;
        }

        var head = _chunks.Peek();
        var end = _chunks.Count == 1 ? _tailLength : ChunkSize;
        return head.AsSpan(_headOffset, Math.Min(max, end - _headOffset));
    }

    /// <summary>Drops <paramref name="count"/> bytes from the front (after they were written).</summary>
    public void Consume(int count)
    {
        Length -= count;
        _headOffset += count;
        var end = _chunks.Count == 1 ? _tailLength : ChunkSize;
        if (_headOffset == end)
        {
            ArrayPool<byte>.Shared.Return(_chunks.Dequeue());
            _headOffset = 0;
            if (_chunks.Count == 0)
            {
                _tailLength = 0;
                _tail = null;
            }
        }
    }

    /// <summary>Forgets everything and returns the buffers.</summary>
    public void Clear()
    {
        while (_chunks.Count > 0)
        {
            ArrayPool<byte>.Shared.Return(_chunks.Dequeue());
        }

        if (_trailers is not null)
        {
            ArrayPool<byte>.Shared.Return(_trailers);
            _trailers = null;
        }

        _trailersLength = 0;
        _tail = null;
        _headOffset = 0;
        _tailLength = 0;
        Length = 0;
        EndPending = false;
    }
}
