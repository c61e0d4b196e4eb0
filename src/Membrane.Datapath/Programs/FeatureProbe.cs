using Membrane.Datapath.Interop;
using Membrane.Datapath.Netns;

namespace Membrane.Datapath.Programs;

/// <summary>Probes the kernel for what the datapath needs (libbpf's probes; tcx by a query on the node's loopback).</summary>
internal static class FeatureProbe
{
    public static DatapathFeatures Run(NetnsThread node)
    {
        var tcx = node.Run(() => Libbpf.TcxSupported(Libc.InterfaceIndex("lo")));
        var ringBuffer = Libbpf.ProbeMapType(Libbpf.BPF_MAP_TYPE_RINGBUF) == 1;
        var lpm = Libbpf.ProbeMapType(Libbpf.BPF_MAP_TYPE_LPM_TRIE) == 1;
        var mapInMap = Libbpf.ProbeMapType(Libbpf.BPF_MAP_TYPE_ARRAY_OF_MAPS) == 1;
        var skAssign = Libbpf.ProbeHelper(Libbpf.BPF_PROG_TYPE_SCHED_CLS, Libbpf.BPF_FUNC_sk_assign) == 1
            && Libbpf.ProbeHelper(Libbpf.BPF_PROG_TYPE_SCHED_CLS, Libbpf.BPF_FUNC_skc_lookup_tcp) == 1;
        var coarseClock = Libbpf.ProbeHelper(Libbpf.BPF_PROG_TYPE_SCHED_CLS, Libbpf.BPF_FUNC_ktime_get_coarse_ns) == 1;
        var release = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "unknown";
        return new DatapathFeatures(tcx, ringBuffer, lpm, skAssign, mapInMap, coarseClock, tcx ? AttachMode.Tcx : AttachMode.TcClsact, release);
    }
}
