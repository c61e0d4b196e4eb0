namespace Membrane.Proxy.Http2.Hpack;

/// <summary>
/// HPACK's dynamic table (RFC 7541 §2.3.2, §4): newest entry first, evicted oldest first by size (name + value + 32
/// per entry). Entries' bytes live in one buffer of twice the size limit, each entry contiguous: after the
/// evictions an insert requires, there is always a contiguous run long enough for it, either after the newest entry
/// or at the start of the buffer, so nothing is allocated after construction.
/// </summary>
internal sealed class HpackDynamicTable
{
    private readonly byte[] _bytes;
    private readonly Entry[] _entries;
    private int _first;
    private int _count;
    private int _writeOffset;

    /// <summary>Creates a table whose size can never exceed <paramref name="limit"/> (SETTINGS_HEADER_TABLE_SIZE).</summary>
    public HpackDynamicTable(int limit)
    {
        Limit = limit;
        MaxSize = limit;
        _bytes = new byte[Math.Max(2 * limit, 64)];
        _entries = new Entry[(limit / 32) + 1];
    }

    /// <summary>The largest size the peer may set (what this side advertised).</summary>
    public int Limit { get; }

    /// <summary>The current maximum size (set by dynamic table size updates).</summary>
    public int MaxSize { get; private set; }

    /// <summary>The current size (name + value + 32 per entry).</summary>
    public int Size { get; private set; }

    /// <summary>Number of entries.</summary>
    public int Count => _count;

    /// <summary>Applies a dynamic table size update; false when it exceeds <see cref="Limit"/> (a decoding error).</summary>
    public bool SetMaxSize(int size)
    {
        if (size < 0 || size > Limit)
        {
            return false;
        }

        MaxSize = size;
        EvictUntil(size);
        return true;
    }

    /// <summary>Inserts a field as the newest entry, evicting as §4.4 says (an entry larger than the table empties it).</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var size = name.Length + value.Length + 32;
        if (size > MaxSize)
        {
            EvictUntil(0);
            return;
        }

        EvictUntil(MaxSize - size);
        var length = name.Length + value.Length;
        var offset = _writeOffset;
        if (offset + length > _bytes.Length)
        {
            offset = 0;
        }

        name.CopyTo(_bytes.AsSpan(offset));
        value.CopyTo(_bytes.AsSpan(offset + name.Length));
        _entries[(_first + _count) % _entries.Length] = new Entry(offset, name.Length, value.Length);
        _count++;
        Size += size;
        _writeOffset = offset + length;
    }

    /// <summary>Entry <paramref name="index"/>, 0 being the newest; false when there is no such entry.</summary>
    public bool TryGet(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if ((uint)index >= (uint)_count)
        {
            name = value = default;
            return false;
        }

        var e = _entries[(_first + _count - 1 - index) % _entries.Length];
        name = _bytes.AsSpan(e.Offset, e.NameLength);
        value = _bytes.AsSpan(e.Offset + e.NameLength, e.ValueLength);
        return true;
    }

    private void EvictUntil(int size)
    {
        while (Size > size && _count > 0)
        {
            var e = _entries[_first];
            Size -= e.NameLength + e.ValueLength + 32;
            _first = (_first + 1) % _entries.Length;
            _count--;
        }

        if (_count == 0)
        {
            _writeOffset = 0;
            _first = 0;
        }
    }

    private readonly record struct Entry(int Offset, int NameLength, int ValueLength);
}
