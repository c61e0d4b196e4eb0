using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>libbpf object files: open with a pin root, size maps, load, find programs and maps.</summary>
internal static unsafe partial class Libbpf
{
    /// <summary><c>struct bpf_object_open_opts</c> (libbpf 1.1, 80 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 80)]
    internal struct bpf_object_open_opts
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public nint object_name;
        [FieldOffset(16)] public byte relaxed_maps;
        [FieldOffset(24)] public nint pin_root_path;
        [FieldOffset(40)] public nint kconfig;
        [FieldOffset(48)] public nint btf_custom_path;
        [FieldOffset(56)] public nint kernel_log_buf;
        [FieldOffset(64)] public nuint kernel_log_size;
        [FieldOffset(72)] public uint kernel_log_level;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial nint bpf_object__open_file(string path, bpf_object_open_opts* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_object__load(nint obj);

    [LibraryImport(Library)]
    internal static partial void bpf_object__close(nint obj);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint bpf_object__find_program_by_name(nint obj, string name);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint bpf_object__find_map_by_name(nint obj, string name);

    [LibraryImport(Library)]
    internal static partial int bpf_program__fd(nint prog);

    [LibraryImport(Library)]
    internal static partial int bpf_map__set_max_entries(nint map, uint maxEntries);

    /// <summary>Opens <paramref name="path"/>; pinned maps (LIBBPF_PIN_BY_NAME) live under <paramref name="pinRoot"/>.</summary>
    public static BpfObjectHandle OpenObject(string path, string pinRoot)
    {
        LibbpfLog.EnsureInstalled();
        LibbpfLog.Clear();
        var pin = Marshal.StringToCoTaskMemUTF8(pinRoot);
        try
        {
            var opts = new bpf_object_open_opts { sz = (nuint)sizeof(bpf_object_open_opts), pin_root_path = pin };
            var obj = bpf_object__open_file(path, &opts);
            if (obj == 0)
            {
                throw Failure($"bpf_object__open_file {path}");
            }

            return new BpfObjectHandle(obj);
        }
        finally
        {
            Marshal.FreeCoTaskMem(pin);
        }
    }

    /// <summary>Sets a map's size before load.</summary>
    public static void SetMaxEntries(BpfObjectHandle obj, string map, uint maxEntries)
    {
        var m = bpf_object__find_map_by_name(obj.Pointer, map);
        if (m == 0)
        {
            throw new DatapathException($"bpf_object__find_map_by_name {map}", Errno.ENOENT);
        }

        Check(bpf_map__set_max_entries(m, maxEntries), $"bpf_map__set_max_entries {map}");
    }

    /// <summary>Loads (verifies) the programs and creates or reuses the pinned maps.</summary>
    public static void LoadObject(BpfObjectHandle obj, string what)
    {
        LibbpfLog.Clear();
        Check(bpf_object__load(obj.Pointer), $"bpf_object__load {what}");
    }

    /// <summary>File descriptor of a loaded program (owned by the object: not to be closed).</summary>
    public static int ProgramFd(BpfObjectHandle obj, string program)
    {
        var p = bpf_object__find_program_by_name(obj.Pointer, program);
        if (p == 0)
        {
            throw new DatapathException($"bpf_object__find_program_by_name {program}", Errno.ENOENT);
        }

        return Check(bpf_program__fd(p), $"bpf_program__fd {program}");
    }
}
