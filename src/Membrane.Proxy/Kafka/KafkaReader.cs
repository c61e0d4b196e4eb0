using System.Buffers;

namespace Membrane.Proxy.Kafka;

/// <summary>
/// Reads Kafka primitive types (protocol_types.html) from one complete frame. Every method returns false when the
/// value is malformed or runs past the end of the frame; callers turn that into a Rejected parse. Lengths are checked
/// against the bytes that remain before anything is sized from them, so a hostile count cannot make us allocate.
/// </summary>
internal ref struct KafkaReader
{
    private SequenceReader<byte> _reader;

    public KafkaReader(ReadOnlySequence<byte> frame) => _reader = new SequenceReader<byte>(frame);

    public readonly long Consumed => _reader.Consumed;

    public readonly long Remaining => _reader.Remaining;

    public readonly bool End => _reader.End;

    public readonly SequencePosition Position => _reader.Position;

    public readonly ReadOnlySequence<byte> Sequence => _reader.Sequence;

    public bool TryInt8(out sbyte value)
    {
        if (_reader.TryRead(out var b))
        {
            value = unchecked((sbyte)b);
            return true;
        }

        value = 0;
        return false;
    }

    public bool TryBool(out bool value)
    {
        var ok = _reader.TryRead(out var b);
        value = b != 0;
        return ok;
    }

    public bool TryInt16(out short value) => _reader.TryReadBigEndian(out value);

    public bool TryInt32(out int value) => _reader.TryReadBigEndian(out value);

    public bool TryInt64(out long value) => _reader.TryReadBigEndian(out value);

    public bool Skip(long count)
    {
        if (count < 0 || count > _reader.Remaining)
        {
            return false;
        }

        _reader.Advance(count);
        return true;
    }

    /// <summary>UNSIGNED_VARINT (LEB128), at most 5 bytes for a 32-bit value.</summary>
    public bool TryUVarint(out uint value)
    {
        value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (!_reader.TryRead(out var b))
            {
                return false;
            }

            if (shift == 28 && b > 0x0F)
            {
                return false;
            }

            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Reads the length of a STRING / NULLABLE_STRING (INT16) or COMPACT_[NULLABLE_]STRING (UNSIGNED_VARINT N+1);
    /// -1 means null. The bytes are not consumed.
    /// </summary>
    public bool TryStringLength(bool compact, out int length)
    {
        if (compact)
        {
            if (!TryUVarint(out var n) || n > short.MaxValue + 1)
            {
                length = 0;
                return false;
            }

            length = (int)n - 1;
        }
        else
        {
            if (!TryInt16(out var n) || n < -1)
            {
                length = 0;
                return false;
            }

            length = n;
        }

        return length <= _reader.Remaining;
    }

    public bool TrySkipString(bool compact) => TryStringLength(compact, out var n) && (n < 0 || Skip(n));

    /// <summary>A non-null string copied into <paramref name="arena"/>; null strings are rejected.</summary>
    public bool TryString(bool compact, KafkaByteArena arena, out ByteRange range)
    {
        range = default;
        if (!TryStringLength(compact, out var n) || n < 0)
        {
            return false;
        }

        return TryCopy(n, arena, out range);
    }

    /// <summary>A nullable string copied into <paramref name="arena"/>; <paramref name="isNull"/> set for null.</summary>
    public bool TryNullableString(bool compact, KafkaByteArena arena, out ByteRange range, out bool isNull)
    {
        range = default;
        isNull = false;
        if (!TryStringLength(compact, out var n))
        {
            return false;
        }

        if (n < 0)
        {
            isNull = true;
            return true;
        }

        return TryCopy(n, arena, out range);
    }

    public bool TryCopy(int count, KafkaByteArena arena, out ByteRange range)
    {
        var span = arena.Reserve(count, out range);
        if (!_reader.TryCopyTo(span))
        {
            return false;
        }

        _reader.Advance(count);
        return true;
    }

    /// <summary>BYTES / NULLABLE_BYTES (INT32 length) or COMPACT_[NULLABLE_]BYTES.</summary>
    public bool TryBytesLength(bool compact, out int length)
    {
        if (compact)
        {
            if (!TryUVarint(out var n) || n > int.MaxValue)
            {
                length = 0;
                return false;
            }

            length = (int)n - 1;
        }
        else if (!TryInt32(out length) || length < -1)
        {
            return false;
        }

        return length <= _reader.Remaining;
    }

    public bool TrySkipBytes(bool compact) => TryBytesLength(compact, out var n) && (n < 0 || Skip(n));

    /// <summary>
    /// ARRAY (INT32 count) or COMPACT_ARRAY (UNSIGNED_VARINT N+1); -1 means null. The count is bounded by the bytes
    /// left, given that every element takes at least <paramref name="minElementSize"/> bytes.
    /// </summary>
    public bool TryArrayLength(bool compact, out int count, int minElementSize = 1)
    {
        if (compact)
        {
            if (!TryUVarint(out var n) || n > int.MaxValue)
            {
                count = 0;
                return false;
            }

            count = (int)n - 1;
        }
        else if (!TryInt32(out count) || count < -1)
        {
            return false;
        }

        return count <= _reader.Remaining / Math.Max(1, minElementSize);
    }

    /// <summary>Skips an array of fixed-size elements (e.g. <c>[]int32</c>); null allowed.</summary>
    public bool TrySkipFixedArray(bool compact, int elementSize)
    {
        if (!TryArrayLength(compact, out var n, elementSize))
        {
            return false;
        }

        return n < 0 || Skip((long)n * elementSize);
    }

    /// <summary>Reads an <c>[]int32</c> into <paramref name="arena"/>; null reads as empty with <paramref name="isNull"/>.</summary>
    public bool TryInt32Array(bool compact, KafkaIntArena arena, out ByteRange range, out bool isNull)
    {
        range = default;
        isNull = false;
        if (!TryArrayLength(compact, out var n, 4))
        {
            return false;
        }

        if (n < 0)
        {
            isNull = true;
            return true;
        }

        range = new ByteRange(arena.Count, n);
        for (var i = 0; i < n; i++)
        {
            if (!TryInt32(out var p))
            {
                return false;
            }

            arena.Add(p);
        }

        return true;
    }

    /// <summary>The tagged-field section that ends every struct in flexible versions (KIP-482); unknown tags skipped.</summary>
    public bool TrySkipTags()
    {
        if (!TryUVarint(out var count) || count > _reader.Remaining)
        {
            return false;
        }

        for (var i = 0u; i < count; i++)
        {
            if (!TryUVarint(out _) || !TryUVarint(out var size) || !Skip(size))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Skips tags only when <paramref name="flexible"/>.</summary>
    public bool TrySkipTags(bool flexible) => !flexible || TrySkipTags();

    public bool TryUuid(out Guid value)
    {
        Span<byte> b = stackalloc byte[16];
        if (!_reader.TryCopyTo(b))
        {
            value = default;
            return false;
        }

        _reader.Advance(16);
        value = new Guid(b, bigEndian: true);
        return true;
    }
}
