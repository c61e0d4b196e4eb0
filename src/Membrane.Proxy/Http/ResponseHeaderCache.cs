using System.Text;

namespace Membrane.Proxy.Http;

/// <summary>
/// Per-connection cache of the strings made from upstream response header fields, by position: when a response
/// repeats the previous one's bytes at the same position (the common case on a keep-alive connection), the strings
/// are reused and nothing is allocated.
/// </summary>
internal sealed class ResponseHeaderCache
{
    private readonly Entry[] _entries = new Entry[Http1ResponseHead.MaxHeaders];

    /// <summary>The name and value strings for field <paramref name="index"/>.</summary>
    public (string Name, string Value) Get(int index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        ref var e = ref _entries[index];
        if (e.Name is null || !name.SequenceEqual(e.NameBytes.AsSpan(0, e.NameLength)))
        {
            e.NameBytes = Store(e.NameBytes, name);
            e.NameLength = name.Length;
            e.Name = Encoding.Latin1.GetString(name);
        }

        if (e.Value is null || !value.SequenceEqual(e.ValueBytes.AsSpan(0, e.ValueLength)))
        {
            e.ValueBytes = Store(e.ValueBytes, value);
            e.ValueLength = value.Length;
            e.Value = Encoding.Latin1.GetString(value);
        }

        return (e.Name, e.Value);
    }

    private static byte[] Store(byte[]? array, ReadOnlySpan<byte> bytes)
    {
        if (array is null || array.Length < bytes.Length)
        {
            array = new byte[Math.Max(bytes.Length, 32)];
        }

        bytes.CopyTo(array);
        return array;
    }

    private struct Entry
    {
        public byte[] NameBytes;
        public int NameLength;
        public string? Name;
        public byte[] ValueBytes;
        public int ValueLength;
        public string? Value;
    }
}
