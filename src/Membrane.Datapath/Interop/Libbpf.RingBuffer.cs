using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>
/// The BPF ring buffer consumer. <see cref="RingBufferReader"/> polls it on its own thread; each record reaches the
/// managed sink as a span that is valid only during the callback.
/// </summary>
internal static unsafe partial class Libbpf
{
    [LibraryImport(Library, SetLastError = true)]
    internal static partial nint ring_buffer__new(int mapFd, delegate* unmanaged<nint, nint, nuint, int> sampleCallback, nint ctx, void* opts);

    [LibraryImport(Library)]
    internal static partial int ring_buffer__poll(nint rb, int timeoutMs);

    [LibraryImport(Library)]
    internal static partial void ring_buffer__free(nint rb);
}

/// <summary>Receives ring buffer records (on the reader thread).</summary>
internal interface IRingBufferSink
{
    /// <summary>One record; the span is valid only during the call. Must not throw.</summary>
    void OnRecord(ReadOnlySpan<byte> record);
}

/// <summary>Owns a libbpf ring buffer consumer bound to a managed sink.</summary>
internal sealed unsafe class RingBufferReader : IDisposable
{
    private readonly RingBufferHandle _ring;
    private GCHandle _sink;

    public RingBufferReader(BpfMap map, IRingBufferSink sink)
    {
        _sink = GCHandle.Alloc(sink);
        var ring = Libbpf.ring_buffer__new(map.Fd.Fd, &OnSample, GCHandle.ToIntPtr(_sink), null);
        if (ring == 0)
        {
            _sink.Free();
            throw Libbpf.Failure($"ring_buffer__new {map.Name}");
        }

        _ring = new RingBufferHandle(ring);
    }

    /// <summary>Delivers the available records to the sink, waiting up to <paramref name="timeoutMs"/> for the first.
    /// Returns the number delivered, or a negative errno (EINTR is normal).</summary>
    public int Poll(int timeoutMs) => Libbpf.ring_buffer__poll(_ring.Pointer, timeoutMs);

    public void Dispose()
    {
        _ring.Dispose();
        if (_sink.IsAllocated)
        {
            _sink.Free();
        }
    }

    [UnmanagedCallersOnly]
    private static int OnSample(nint ctx, nint data, nuint size)
    {
        try
        {
            if (GCHandle.FromIntPtr(ctx).Target is IRingBufferSink sink)
            {
                sink.OnRecord(new ReadOnlySpan<byte>((void*)data, checked((int)size)));
            }
        }
        catch
        {
            // Nothing may escape into native code; the sink counts its own failures.
        }

        return 0;
    }
}
