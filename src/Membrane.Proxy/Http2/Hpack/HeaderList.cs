namespace Membrane.Proxy.Http2.Hpack;

/// <summary>
/// The fields of one decoded header block, kept as bytes in an arena that is reused block after block (no strings,
/// nothing allocated once warm). Enforces the header list limits: a block whose fields exceed them is still decoded
/// to the end (the HPACK state must stay in sync) but marked <see cref="OverLimit"/>, and the excess is not kept.
/// </summary>
internal sealed class HeaderList
{
    private byte[] _arena;
    private Field[] _fields;
    private int _used;
    private int _count;
    private long _listSize;

    /// <summary>Creates a list with the given limits.</summary>
    /// <param name="maxListSize">Largest header list size, counted as RFC 9113 §6.5.2 does (name + value + 32 per field).</param>
    /// <param name="maxFields">Largest number of fields.</param>
    public HeaderList(int maxListSize = 32 * 1024, int maxFields = 100)
    {
        MaxListSize = maxListSize;
        MaxFields = maxFields;
        _arena = new byte[1024];
        _fields = new Field[16];
    }

    /// <summary>Largest header list size kept (RFC 9113 §6.5.2 accounting).</summary>
    public int MaxListSize { get; }

    /// <summary>Largest number of fields kept.</summary>
    public int MaxFields { get; }

    /// <summary>Number of fields (removed ones included; see <see cref="IsRemoved"/>).</summary>
    public int Count => _count;

    /// <summary>True when the block held more than the limits allow; the fields past the limit were dropped.</summary>
    public bool OverLimit { get; private set; }

    /// <summary>Header list size of the fields kept (name + value + 32 each).</summary>
    public long ListSize => _listSize;

    /// <summary>Bytes of arena in use (the decoder rolls back to it when a representation is incomplete).</summary>
    internal int Used => _used;

    /// <summary>Arena capacity in bytes (a pooled list that grew past a bound is not kept).</summary>
    public int Capacity => _arena.Length;

    /// <summary>Name of field <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Name(int index)
    {
        ref readonly var f = ref _fields[index];
        return _arena.AsSpan(f.NameStart, f.NameLength);
    }

    /// <summary>Value of field <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Value(int index)
    {
        ref readonly var f = ref _fields[index];
        return _arena.AsSpan(f.ValueStart, f.ValueLength);
    }

    /// <summary>True when the sender asked that the field never be indexed (RFC 7541 §6.2.3); a proxy must forward it so.</summary>
    public bool IsNeverIndexed(int index) => _fields[index].NeverIndexed;

    /// <summary>True when the field was removed after decoding (a policy header action).</summary>
    public bool IsRemoved(int index) => _fields[index].Removed;

    /// <summary>Forgets every field; keeps the arena.</summary>
    public void Clear()
    {
        _used = 0;
        _count = 0;
        _listSize = 0;
        OverLimit = false;
    }

    /// <summary>Index of the first field named <paramref name="name"/> (exact bytes) that is not removed, or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> name, int start = 0)
    {
        for (var i = start; i < _count; i++)
        {
            if (!_fields[i].Removed && Name(i).SequenceEqual(name))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Marks field <paramref name="index"/> removed: it is skipped when the list is forwarded.</summary>
    public void Remove(int index) => _fields[index].Removed = true;

    /// <summary>Adds a field by copying (tests, policy header actions); obeys the limits.</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed = false)
    {
        var start = _used;
        name.CopyTo(Reserve(name.Length));
        _used += name.Length;
        value.CopyTo(Reserve(value.Length));
        _used += value.Length;
        Commit(start, name.Length, start + name.Length, value.Length, neverIndexed);
    }

    /// <summary>A writable span of at least <paramref name="length"/> bytes at the end of the arena.</summary>
    internal Span<byte> Reserve(int length)
    {
        if (_arena.Length - _used < length)
        {
            var larger = new byte[Math.Max(_arena.Length * 2, _used + length)];
            _arena.AsSpan(0, _used).CopyTo(larger);
            _arena = larger;
        }

        return _arena.AsSpan(_used);
    }

    /// <summary>Arena bytes at <paramref name="start"/> (the decoder reads back what it wrote).</summary>
    internal ReadOnlySpan<byte> Slice(int start, int length) => _arena.AsSpan(start, length);

    /// <summary>Marks <paramref name="length"/> bytes after <see cref="Used"/> as written.</summary>
    internal void Advance(int length) => _used += length;

    /// <summary>Rolls the arena back to <paramref name="used"/> (an incomplete representation is forgotten).</summary>
    internal void Truncate(int used) => _used = used;

    /// <summary>Records a field whose bytes were written to the arena; drops it (and its bytes) past the limits.</summary>
    internal void Commit(int nameStart, int nameLength, int valueStart, int valueLength, bool neverIndexed)
    {
        var size = nameLength + valueLength + 32L;
        if (OverLimit || _count >= MaxFields || _listSize + size > MaxListSize)
        {
            OverLimit = true;
            _used = Math.Min(nameStart, valueStart);
            return;
        }

        if (_count == _fields.Length)
        {
            Array.Resize(ref _fields, _fields.Length * 2);
        }

        _fields[_count++] = new Field
        {
            NameStart = nameStart,
            NameLength = nameLength,
            ValueStart = valueStart,
            ValueLength = valueLength,
            NeverIndexed = neverIndexed,
        };
        _listSize += size;
    }

    private struct Field
    {
        public int NameStart;
        public int NameLength;
        public int ValueStart;
        public int ValueLength;
        public bool NeverIndexed;
        public bool Removed;
    }
}
