namespace Membrane.Proxy.Kafka;

/// <summary>A slice of an arena: start index and length (bytes for <see cref="KafkaByteArena"/>, items otherwise).</summary>
internal readonly record struct ByteRange(int Start, int Length);

/// <summary>Growable byte storage reused across requests of one connection, so parsing allocates nothing once warm.</summary>
internal sealed class KafkaByteArena(int initialCapacity = 256)
{
    private byte[] _bytes = new byte[initialCapacity];

    public int Count { get; private set; }

    public void Clear() => Count = 0;

    public Span<byte> Reserve(int length, out ByteRange range)
    {
        if (Count + length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Count + length));
        }

        range = new ByteRange(Count, length);
        var span = _bytes.AsSpan(Count, length);
        Count += length;
        return span;
    }

    public ByteRange Add(ReadOnlySpan<byte> value)
    {
        value.CopyTo(Reserve(value.Length, out var range));
        return range;
    }

    public ReadOnlySpan<byte> this[ByteRange range] => _bytes.AsSpan(range.Start, range.Length);
}

/// <summary>Growable int storage (partition indexes) reused across requests.</summary>
internal sealed class KafkaIntArena(int initialCapacity = 64)
{
    private int[] _items = new int[initialCapacity];

    public int Count { get; private set; }

    public void Clear() => Count = 0;

    public void Add(int value)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items[Count++] = value;
    }

    public ReadOnlySpan<int> this[ByteRange range] => _items.AsSpan(range.Start, range.Length);
}
