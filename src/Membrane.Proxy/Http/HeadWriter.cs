using System.Buffers.Text;

namespace Membrane.Proxy.Http;

/// <summary>Writes an HTTP/1.1 head into a fixed buffer; sets <see cref="Overflow"/> instead of growing.</summary>
internal ref struct HeadWriter(byte[] buffer)
{
    private readonly Span<byte> _buffer = buffer;

    /// <summary>Bytes written.</summary>
    public int Length { get; private set; }

    /// <summary>True when something did not fit; the caller retries with a larger buffer.</summary>
    public bool Overflow { get; private set; }

    public void Byte(byte b)
    {
        if (Length < _buffer.Length)
        {
            _buffer[Length++] = b;
        }
        else
        {
            Overflow = true;
        }
    }

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.TryCopyTo(_buffer[Length..]))
        {
            Length += bytes.Length;
        }
        else
        {
            Overflow = true;
        }
    }

    /// <summary>Writes ASCII text (method, names, the normalized target).</summary>
    public void Ascii(ReadOnlySpan<char> text) => Latin1(text);

    /// <summary>Writes text byte per char (header values as Kestrel decoded them).</summary>
    public void Latin1(ReadOnlySpan<char> text)
    {
        if (text.Length > _buffer.Length - Length)
        {
            Overflow = true;
            return;
        }

        var dest = _buffer.Slice(Length, text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            dest[i] = (byte)text[i];
        }

        Length += text.Length;
    }

    public void Number(long value)
    {
        if (Utf8Formatter.TryFormat(value, _buffer[Length..], out var n))
        {
            Length += n;
        }
        else
        {
            Overflow = true;
        }
    }

    public void Hex(long value)
    {
        if (Utf8Formatter.TryFormat(value, _buffer[Length..], out var n, new System.Buffers.StandardFormat('X')))
        {
            Length += n;
        }
        else
        {
            Overflow = true;
        }
    }
}
