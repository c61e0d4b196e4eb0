namespace Membrane.Datapath;

/// <summary>What the kernel supports, as probed when the datapath opened (<c>membrane status</c>).</summary>
/// <param name="Tcx">tcx attachment (bpf links on the ingress/egress hooks, kernel 6.6+).</param>
/// <param name="RingBuffer">BPF ring buffer maps (kernel 5.8+).</param>
/// <param name="LpmTrie">LPM trie maps (ipcache prefixes).</param>
/// <param name="SocketAssign">bpf_sk_assign and bpf_skc_lookup_tcp from tc programs (the L7 redirect, kernel 5.7+).</param>
/// <param name="MapInMap">Arrays of maps (the double-buffered per-endpoint policy maps).</param>
/// <param name="CoarseClock">bpf_ktime_get_coarse_ns (the conntrack clock, kernel 5.11+).</param>
/// <param name="AttachMode">How endpoints are attached: tcx when available, else tc clsact.</param>
/// <param name="KernelRelease">uname -r.</param>
public sealed record DatapathFeatures(
    bool Tcx,
    bool RingBuffer,
    bool LpmTrie,
    bool SocketAssign,
    bool MapInMap,
    bool CoarseClock,
    AttachMode AttachMode,
    string KernelRelease)
{
    /// <summary>Features Membrane cannot run without that are missing (empty when the kernel is fit).</summary>
    public IReadOnlyList<string> Missing =>
    [
        .. RingBuffer ? Array.Empty<string>() : ["BPF ring buffer (kernel 5.8+)"],
        .. LpmTrie ? Array.Empty<string>() : ["LPM trie maps"],
        .. SocketAssign ? Array.Empty<string>() : ["bpf_sk_assign from tc (kernel 5.7+)"],
        .. MapInMap ? Array.Empty<string>() : ["array-of-maps (kernel 4.12+)"],
        .. CoarseClock ? Array.Empty<string>() : ["bpf_ktime_get_coarse_ns (kernel 5.11+)"],
    ];
}
