using System.Runtime.InteropServices;

namespace Membrane.Datapath.Interop;

/// <summary>Feature probes (libbpf loads tiny programs and maps to see what the kernel accepts).</summary>
internal static unsafe partial class Libbpf
{
    internal const int BPF_PROG_TYPE_SCHED_CLS = 3;
    internal const int BPF_FUNC_skc_lookup_tcp = 99;
    internal const int BPF_FUNC_sk_assign = 124;
    internal const int BPF_FUNC_ringbuf_reserve = 131;
    internal const int BPF_FUNC_ktime_get_coarse_ns = 160;

    [LibraryImport(Library)]
    internal static partial int libbpf_probe_bpf_map_type(int mapType, void* opts);

    [LibraryImport(Library)]
    internal static partial int libbpf_probe_bpf_helper(int progType, int helperId, void* opts);

    /// <summary>1 supported, 0 not, or a negative errno when the probe itself failed.</summary>
    public static int ProbeMapType(int mapType)
    {
        LibbpfLog.EnsureInstalled();
        var rc = libbpf_probe_bpf_map_type(mapType, null);
        LibbpfLog.Clear();
        return rc;
    }

    /// <summary>1 supported, 0 not, or a negative errno when the probe itself failed.</summary>
    public static int ProbeHelper(int progType, int helper)
    {
        LibbpfLog.EnsureInstalled();
        var rc = libbpf_probe_bpf_helper(progType, helper, null);
        LibbpfLog.Clear();
        return rc;
    }
}
