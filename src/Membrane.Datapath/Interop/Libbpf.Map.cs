using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>Map syscalls: create, pin, open, element access, batches, info.</summary>
internal static unsafe partial class Libbpf
{
    internal const ulong BPF_ANY = 0;
    internal const ulong BPF_NOEXIST = 1;
    internal const ulong BPF_EXIST = 2;

    internal const int BPF_MAP_TYPE_HASH = 1;
    internal const int BPF_MAP_TYPE_ARRAY = 2;
    internal const int BPF_MAP_TYPE_LPM_TRIE = 11;
    internal const int BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
    internal const int BPF_MAP_TYPE_RINGBUF = 27;
    internal const uint BPF_F_NO_PREALLOC = 1;

    /// <summary><c>struct bpf_map_create_opts</c> (48 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 48)]
    internal struct bpf_map_create_opts
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public uint btf_fd;
        [FieldOffset(12)] public uint btf_key_type_id;
        [FieldOffset(16)] public uint btf_value_type_id;
        [FieldOffset(20)] public uint btf_vmlinux_value_type_id;
        [FieldOffset(24)] public uint inner_map_fd;
        [FieldOffset(28)] public uint map_flags;
        [FieldOffset(32)] public ulong map_extra;
        [FieldOffset(40)] public uint numa_node;
        [FieldOffset(44)] public uint map_ifindex;
    }

    /// <summary><c>struct bpf_map_batch_opts</c> (24 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 24)]
    internal struct bpf_map_batch_opts
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public ulong elem_flags;
        [FieldOffset(16)] public ulong flags;
    }

    /// <summary>The leading fields of <c>struct bpf_map_info</c> (88 bytes in libbpf 1.1's uapi).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 88)]
    internal struct bpf_map_info
    {
        [FieldOffset(0)] public uint type;
        [FieldOffset(4)] public uint id;
        [FieldOffset(8)] public uint key_size;
        [FieldOffset(12)] public uint value_size;
        [FieldOffset(16)] public uint max_entries;
        [FieldOffset(20)] public uint map_flags;
        [FieldOffset(24)] public fixed byte name[16];
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int bpf_map_create(int mapType, string? name, uint keySize, uint valueSize, uint maxEntries, bpf_map_create_opts* opts);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int bpf_obj_get(string path);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int bpf_obj_pin(int fd, string path);

    [LibraryImport(Library)]
    internal static partial int bpf_map_update_elem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Library)]
    internal static partial int bpf_map_lookup_elem(int fd, void* key, void* value);

    [LibraryImport(Library)]
    internal static partial int bpf_map_delete_elem(int fd, void* key);

    [LibraryImport(Library)]
    internal static partial int bpf_map_get_next_key(int fd, void* key, void* nextKey);

    [LibraryImport(Library)]
    internal static partial int bpf_map_update_batch(int fd, void* keys, void* values, uint* count, bpf_map_batch_opts* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_map_get_fd_by_id(uint id);

    [LibraryImport(Library)]
    internal static partial int bpf_obj_get_info_by_fd(int fd, void* info, uint* infoLength);

    [LibraryImport(Library)]
    internal static partial int libbpf_num_possible_cpus();

    /// <summary>Opens a pinned object (map, link, program) by path.</summary>
    public static BpfFileDescriptor OpenPinned(string path)
    {
        LibbpfLog.EnsureInstalled();
        return new BpfFileDescriptor(Check(bpf_obj_get(path), $"bpf_obj_get {path}"));
    }

    /// <summary>Opens a pinned object by path, or returns null when nothing is pinned there.</summary>
    public static BpfFileDescriptor? TryOpenPinned(string path)
    {
        LibbpfLog.EnsureInstalled();
        var fd = bpf_obj_get(path);
        if (fd == -(int)Errno.ENOENT)
        {
            return null;
        }

        return new BpfFileDescriptor(Check(fd, $"bpf_obj_get {path}"));
    }

    /// <summary>Pins <paramref name="fd"/> at <paramref name="path"/> on bpffs.</summary>
    public static void Pin(BpfFileDescriptor fd, string path) => Check(bpf_obj_pin(fd.Fd, path), $"bpf_obj_pin {path}");

    /// <summary>Creates a map.</summary>
    public static BpfFileDescriptor CreateMap(int type, string name, int keySize, int valueSize, int maxEntries, uint flags, BpfFileDescriptor? inner = null)
    {
        LibbpfLog.EnsureInstalled();
        var opts = new bpf_map_create_opts { sz = (nuint)sizeof(bpf_map_create_opts), map_flags = flags, inner_map_fd = inner is null ? 0u : (uint)inner.Fd };
        var fd = bpf_map_create(type, name, (uint)keySize, (uint)valueSize, (uint)maxEntries, &opts);
        return new BpfFileDescriptor(Check(fd, $"bpf_map_create {name}"));
    }

    /// <summary>Kernel information about a map: id, type, sizes.</summary>
    public static BpfMapInfo MapInfo(BpfFileDescriptor fd, string what)
    {
        var info = default(bpf_map_info);
        var length = (uint)sizeof(bpf_map_info);
        Check(bpf_obj_get_info_by_fd(fd.Fd, &info, &length), $"bpf_obj_get_info_by_fd {what}");
        return new BpfMapInfo(info.id, (int)info.type, (int)info.key_size, (int)info.value_size, (int)info.max_entries, info.map_flags,
            Marshal.PtrToStringUTF8((nint)info.name) ?? string.Empty);
    }

    /// <summary>Opens a map by its kernel id.</summary>
    public static BpfFileDescriptor MapById(uint id) => new(Check(bpf_map_get_fd_by_id(id), $"bpf_map_get_fd_by_id {id}"));

    /// <summary>Number of possible CPUs: the number of slots in a per-CPU map value.</summary>
    public static int PossibleCpus() => Check(libbpf_num_possible_cpus(), "libbpf_num_possible_cpus");
}

/// <summary>What the kernel reports about a map.</summary>
internal readonly record struct BpfMapInfo(uint Id, int Type, int KeySize, int ValueSize, int MaxEntries, uint Flags, string Name);
