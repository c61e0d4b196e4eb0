namespace Membrane.Datapath;

/// <summary>How to open an eBPF datapath instance (<see cref="EbpfDatapath.Open"/>).</summary>
public sealed record DatapathOptions
{
    /// <summary>Default conntrack capacity (entries).</summary>
    public const int DefaultConntrackCapacity = 131072;

    /// <summary>Instance name: pins live under <c>/sys/fs/bpf/membrane/v2/&lt;instance&gt;/</c> (a-z, 0-9, '-', '_').</summary>
    public required string Instance { get; init; }

    /// <summary>The node network namespace holding the endpoints' host-side veths and the proxy listeners
    /// (<c>/var/run/netns/NAME</c>, or <c>/proc/1/ns/net</c> for the host's).</summary>
    public required string NodeNamespacePath { get; init; }

    /// <summary>L7 proxy listener ports (redirect entries store the port of their L7 protocol).</summary>
    public ProxyPorts ProxyPorts { get; init; } = new();

    /// <summary>Conntrack entries (LRU). Part of the pinned map definition: reopening an instance needs the same value.</summary>
    public int ConntrackCapacity { get; init; } = DefaultConntrackCapacity;

    /// <summary>Ring buffer size in bytes (a power of two, at least one page). Part of the pinned map definition.</summary>
    public int EventBufferBytes { get; init; } = 1 << 20;

    /// <summary>Emit a policy-verdict event for every policy decision (new flows and re-checks).</summary>
    public bool PolicyVerdictEvents { get; init; }

    /// <summary>Which forwarded packets produce trace events.</summary>
    public TraceEventLevel TraceEvents { get; init; } = TraceEventLevel.None;

    /// <summary>Conntrack lifetimes.</summary>
    public ConntrackTimeouts ConntrackTimeouts { get; init; } = new();

    /// <summary>How often expired conntrack entries are deleted in the background; zero disables it (call
    /// <see cref="EbpfDatapath.CollectConntrackGarbage"/> yourself).</summary>
    public TimeSpan ConntrackGcInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Read the event ring buffer in this process (only one process should).</summary>
    public bool ConsumeEvents { get; init; } = true;

    /// <summary>Capacity of the <see cref="EbpfDatapath.Events"/> channel; when it is full new events are counted and dropped.</summary>
    public int EventChannelCapacity { get; init; } = 65536;

    /// <summary>Install the node namespace's proxy routing (fwmark 0x200/0xf00 → table 2004 → local).</summary>
    public bool ConfigureProxyRouting { get; init; } = true;

    /// <summary>Where bpffs is (mounted there if it is not).</summary>
    public string BpffsRoot { get; init; } = "/sys/fs/bpf";

    /// <summary>Directory of the compiled BPF objects; null = <c>bpf/</c> next to the assembly.</summary>
    public string? ObjectDirectory { get; init; }

    /// <summary>Attach with tc clsact even when tcx is available (tests of the fallback path).</summary>
    public bool ForceTcClsact { get; init; }
}

/// <summary>Which forwarded packets produce trace events.</summary>
public enum TraceEventLevel
{
    /// <summary>None.</summary>
    None,

    /// <summary>New connections, replies and TCP state changes (Cilium's "medium" monitor aggregation).</summary>
    NewFlowsAndStateChanges,

    /// <summary>Every packet (debugging only: one event per packet).</summary>
    AllPackets,
}

/// <summary>Conntrack lifetimes (defaults are Cilium's).</summary>
/// <param name="Tcp">Established TCP connections.</param>
/// <param name="TcpSyn">TCP connections until the first reply.</param>
/// <param name="TcpClose">TCP connections after a RST, or a FIN in both directions.</param>
/// <param name="Other">UDP, SCTP and ICMP echo flows, refreshed by every packet.</param>
public sealed record ConntrackTimeouts(TimeSpan Tcp, TimeSpan TcpSyn, TimeSpan TcpClose, TimeSpan Other)
{
    /// <summary>Cilium's defaults: 6 h, 60 s, 10 s, 60 s.</summary>
    public ConntrackTimeouts()
        : this(TimeSpan.FromHours(6), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60))
    {
    }
}
