using Microsoft.Win32.SafeHandles;

namespace Membrane.Datapath.Interop;

/// <summary>A file descriptor of a kernel BPF object (map, program, link), closed on dispose.</summary>
internal sealed class BpfFileDescriptor : SafeHandleMinusOneIsInvalid
{
    public BpfFileDescriptor()
        : base(ownsHandle: true)
    {
    }

    public BpfFileDescriptor(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    /// <summary>The raw descriptor for a native call; valid while this handle is not disposed.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}

/// <summary>A libbpf <c>struct bpf_object *</c>, released with <c>bpf_object__close</c>.</summary>
internal sealed class BpfObjectHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BpfObjectHandle()
        : base(ownsHandle: true)
    {
    }

    public BpfObjectHandle(nint pointer)
        : base(ownsHandle: true)
    {
        SetHandle(pointer);
    }

    public nint Pointer => handle;

    protected override bool ReleaseHandle()
    {
        Libbpf.bpf_object__close(handle);
        return true;
    }
}

/// <summary>A libbpf <c>struct ring_buffer *</c>, released with <c>ring_buffer__free</c>.</summary>
internal sealed class RingBufferHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public RingBufferHandle(nint pointer)
        : base(ownsHandle: true)
    {
        SetHandle(pointer);
    }

    public nint Pointer => handle;

    protected override bool ReleaseHandle()
    {
        Libbpf.ring_buffer__free(handle);
        return true;
    }
}
