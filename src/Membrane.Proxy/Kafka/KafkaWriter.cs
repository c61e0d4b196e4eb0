using System.Buffers;
using System.Buffers.Binary;

namespace Membrane.Proxy.Kafka;

/// <summary>
/// Writes Kafka primitive types into a growable buffer reused per connection (synthesized responses, rewritten
/// responses, rewritten Metadata requests). Frames are started with <see cref="BeginFrame"/> and their size prefix is
/// filled by <see cref="EndFrame()"/>.
/// </summary>
internal sealed class KafkaWriter(int initialCapacity = 512)
{
    private byte[] _buffer = new byte[initialCapacity];
    private int _frameStart = -1;

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, Length);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Length);

    public void Clear()
    {
        Length = 0;
        _frameStart = -1;
    }

    public void BeginFrame()
    {
        _frameStart = Length;
        Int32(0);
    }

    public void EndFrame() => EndFrame(0);

    /// <summary>Ends a frame whose last <paramref name="trailingBytes"/> are sent by the caller after it (a spliced
    /// response's relayed remainder).</summary>
    public void EndFrame(int trailingBytes)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_frameStart), Length - _frameStart - 4 + trailingBytes);
        _frameStart = -1;
    }

    private Span<byte> Take(int count)
    {
        if (Length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
        }

        var span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }

    public void Int8(sbyte value) => Take(1)[0] = unchecked((byte)value);

    public void Bool(bool value) => Take(1)[0] = value ? (byte)1 : (byte)0;

    public void Int16(short value) => BinaryPrimitives.WriteInt16BigEndian(Take(2), value);

    public void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Take(4), value);

    public void Int64(long value) => BinaryPrimitives.WriteInt64BigEndian(Take(8), value);

    public void UVarint(uint value)
    {
        while (value >= 0x80)
        {
            Take(1)[0] = (byte)(value | 0x80);
            value >>= 7;
        }

        Take(1)[0] = (byte)value;
    }

    public void Uuid(Guid value) => value.TryWriteBytes(Take(16), bigEndian: true, out _);

    public void Raw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    public void Raw(in ReadOnlySequence<byte> bytes) => bytes.CopyTo(Take((int)bytes.Length));

    public void String(bool compact, ReadOnlySpan<byte> value)
    {
        if (compact)
        {
            UVarint((uint)value.Length + 1);
        }
        else
        {
            Int16((short)value.Length);
        }

        Raw(value);
    }

    public void NullString(bool compact)
    {
        if (compact)
        {
            UVarint(0);
        }
        else
        {
            Int16(-1);
        }
    }

    public void NullBytes(bool compact)
    {
        if (compact)
        {
            UVarint(0);
        }
        else
        {
            Int32(-1);
        }
    }

    public void Bytes(bool compact, ReadOnlySpan<byte> value)
    {
        if (compact)
        {
            UVarint((uint)value.Length + 1);
        }
        else
        {
            Int32(value.Length);
        }

        Raw(value);
    }

    /// <summary>Array length; -1 writes null.</summary>
    public void ArrayLength(bool compact, int count)
    {
        if (compact)
        {
            UVarint((uint)(count + 1));
        }
        else
        {
            Int32(count);
        }
    }

    /// <summary>An empty tagged-field section when <paramref name="flexible"/>.</summary>
    public void Tags(bool flexible)
    {
        if (flexible)
        {
            UVarint(0);
        }
    }

    /// <summary>Response header: correlation id, plus empty tags for header v1 (flexible responses other than ApiVersions).</summary>
    public void ResponseHeader(int correlationId, bool headerV1)
    {
        Int32(correlationId);
        Tags(headerV1);
    }
}
