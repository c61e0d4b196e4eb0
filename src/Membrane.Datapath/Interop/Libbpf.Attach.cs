using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>Attaching programs to interfaces: tcx links (kernel 6.6+) and the tc clsact qdisc (older kernels).</summary>
internal static unsafe partial class Libbpf
{
    internal const int BPF_TC_INGRESS = 1;
    internal const int BPF_TC_EGRESS = 2;
    internal const uint BPF_TC_F_REPLACE = 1;

    // enum bpf_attach_type values of kernel 6.6+ (absent from libbpf 1.1's headers, passed through by bpf_link_create).
    internal const int BPF_TCX_INGRESS = 46;
    internal const int BPF_TCX_EGRESS = 47;

    /// <summary><c>struct bpf_tc_hook</c> (24 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 24)]
    internal struct bpf_tc_hook
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public int ifindex;
        [FieldOffset(12)] public int attach_point;
        [FieldOffset(16)] public uint parent;
    }

    /// <summary><c>struct bpf_tc_opts</c> (32 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    internal struct bpf_tc_opts
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public int prog_fd;
        [FieldOffset(12)] public uint flags;
        [FieldOffset(16)] public uint prog_id;
        [FieldOffset(20)] public uint handle;
        [FieldOffset(24)] public uint priority;
    }

    /// <summary><c>struct bpf_link_update_opts</c> (16 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    internal struct bpf_link_update_opts
    {
        [FieldOffset(0)] public nuint sz;
        [FieldOffset(8)] public uint flags;
        [FieldOffset(12)] public uint old_prog_fd;
    }

    [LibraryImport(Library)]
    internal static partial int bpf_tc_hook_create(bpf_tc_hook* hook);

    [LibraryImport(Library)]
    internal static partial int bpf_tc_hook_destroy(bpf_tc_hook* hook);

    [LibraryImport(Library)]
    internal static partial int bpf_tc_attach(bpf_tc_hook* hook, bpf_tc_opts* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_tc_detach(bpf_tc_hook* hook, bpf_tc_opts* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_tc_query(bpf_tc_hook* hook, bpf_tc_opts* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_link_create(int progFd, int targetFd, int attachType, void* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_link_update(int linkFd, int newProgFd, bpf_link_update_opts* opts);

    [LibraryImport(Library)]
    internal static partial int bpf_link_detach(int linkFd);

    [LibraryImport(Library)]
    internal static partial int bpf_prog_query(int targetFd, int attachType, uint queryFlags, uint* attachFlags, uint* progIds, uint* progCount);

    /// <summary>Creates a tcx link of <paramref name="programFd"/> on <paramref name="ifindex"/> (calling thread's netns).</summary>
    public static BpfFileDescriptor CreateTcxLink(int programFd, int ifindex, bool ingress, string what)
    {
        LibbpfLog.Clear();
        var fd = bpf_link_create(programFd, ifindex, ingress ? BPF_TCX_INGRESS : BPF_TCX_EGRESS, null);
        return new BpfFileDescriptor(Check(fd, $"bpf_link_create tcx {(ingress ? "ingress" : "egress")} {what}"));
    }

    /// <summary>Atomically replaces the program of a link.</summary>
    public static void UpdateLink(BpfFileDescriptor link, int programFd, string what)
    {
        var opts = new bpf_link_update_opts { sz = (nuint)sizeof(bpf_link_update_opts) };
        Check(bpf_link_update(link.Fd, programFd, &opts), $"bpf_link_update {what}");
    }

    /// <summary>Detaches a link (the attachment ends even if the link is still pinned).</summary>
    public static void DetachLink(BpfFileDescriptor link, string what) => Check(bpf_link_detach(link.Fd), $"bpf_link_detach {what}");

    /// <summary>True when the kernel accepts tcx queries on <paramref name="ifindex"/> (kernel 6.6+).</summary>
    public static bool TcxSupported(int ifindex)
    {
        uint attachFlags = 0, count = 0;
        return bpf_prog_query(ifindex, BPF_TCX_INGRESS, 0, &attachFlags, null, &count) == 0;
    }

    /// <summary>Ids of the programs attached at an interface's tcx hook (calling thread's netns).</summary>
    public static uint[] TcxProgramIds(int ifindex, bool ingress)
    {
        uint attachFlags = 0, count = 8;
        var ids = stackalloc uint[8];
        Check(bpf_prog_query(ifindex, ingress ? BPF_TCX_INGRESS : BPF_TCX_EGRESS, 0, &attachFlags, ids, &count), $"bpf_prog_query tcx ifindex {ifindex}");
        return new ReadOnlySpan<uint>(ids, (int)Math.Min(count, 8u)).ToArray();
    }

    /// <summary>Id of the program of the tc filter at handle 1 / priority 1, or 0.</summary>
    public static uint TcProgramId(int ifindex, bool ingress)
    {
        var hook = new bpf_tc_hook { sz = (nuint)sizeof(bpf_tc_hook), ifindex = ifindex, attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS };
        var opts = new bpf_tc_opts { sz = (nuint)sizeof(bpf_tc_opts), handle = 1, priority = 1 };
        var rc = bpf_tc_query(&hook, &opts);
        LibbpfLog.Clear();
        return rc == 0 ? opts.prog_id : 0;
    }

    /// <summary>Attaches with tc clsact (direct action), replacing what is at handle 1 / priority 1.</summary>
    public static void AttachTc(int programFd, int ifindex, bool ingress, string what)
    {
        LibbpfLog.Clear();
        var hook = new bpf_tc_hook { sz = (nuint)sizeof(bpf_tc_hook), ifindex = ifindex, attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS };
        var rc = bpf_tc_hook_create(&hook);
        if (rc < 0 && rc != -(int)Errno.EEXIST)
        {
            Check(rc, $"bpf_tc_hook_create {what}");
        }

        LibbpfLog.Clear();
        var opts = new bpf_tc_opts { sz = (nuint)sizeof(bpf_tc_opts), prog_fd = programFd, handle = 1, priority = 1, flags = BPF_TC_F_REPLACE };
        Check(bpf_tc_attach(&hook, &opts), $"bpf_tc_attach {(ingress ? "ingress" : "egress")} {what}");
    }

    /// <summary>True when a tc filter with handle 1 / priority 1 is attached at the hook.</summary>
    public static bool TcAttached(int ifindex, bool ingress)
    {
        var hook = new bpf_tc_hook { sz = (nuint)sizeof(bpf_tc_hook), ifindex = ifindex, attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS };
        var opts = new bpf_tc_opts { sz = (nuint)sizeof(bpf_tc_opts), handle = 1, priority = 1 };
        var rc = bpf_tc_query(&hook, &opts);
        LibbpfLog.Clear();
        return rc == 0;
    }

    /// <summary>Removes the clsact qdisc (and with it both tc filters) from an interface.</summary>
    public static void DestroyTcHooks(int ifindex)
    {
        var hook = new bpf_tc_hook { sz = (nuint)sizeof(bpf_tc_hook), ifindex = ifindex, attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS };
        var rc = bpf_tc_hook_destroy(&hook);
        LibbpfLog.Clear();
        if (rc < 0 && rc != -(int)Errno.ENOENT && rc != -(int)Errno.EINVAL && rc != -(int)Errno.ENODEV)
        {
            Check(rc, $"bpf_tc_hook_destroy ifindex {ifindex}");
        }
    }
}
