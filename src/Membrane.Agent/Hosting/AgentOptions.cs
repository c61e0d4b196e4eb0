using System.Net;
using Membrane.Datapath;

namespace Membrane.Agent.Hosting;

/// <summary>How to run an agent (<c>membrane agent</c> flags).</summary>
public sealed record AgentOptions
{
    /// <summary>Instance name: names the API socket directory, the bpffs pins and the default state directory.</summary>
    public string Instance { get; init; } = AgentPaths.DefaultInstance;

    /// <summary>
    /// The node network namespace to enforce (<c>/var/run/netns/NAME</c>); null = the agent's own. The datapath, the
    /// proxy listeners and the proxy's upstream connections all live there, whichever namespace the agent runs in.
    /// </summary>
    public string? NodeNamespacePath { get; init; }

    /// <summary>Where state survives restarts; null = <c>/var/lib/membrane/&lt;instance&gt;</c>.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Flows the flow buffer holds (Hubble's default 4095).</summary>
    public int FlowBufferCapacity { get; init; } = 4095;

    /// <summary>The HTTP/gRPC proxy port (contracts.md: 15080).</summary>
    public ushort HttpProxyPort { get; init; } = ProxyPorts.DefaultHttp;

    /// <summary>The Kafka proxy port (contracts.md: 15090).</summary>
    public ushort KafkaProxyPort { get; init; } = ProxyPorts.DefaultKafka;

    /// <summary>Where <c>/metrics</c> is served, in <see cref="MetricsNamespacePath"/>; null disables it. Port 0 picks one.</summary>
    public IPEndPoint? MetricsAddress { get; init; } = new(IPAddress.Loopback, 9962);

    /// <summary>
    /// The network namespace the metrics socket is bound in; null = the host's: <c>/proc/1/ns/net</c>, or when a
    /// sandbox hides PID 1, kthreadd's (<c>/proc/2/ns/net</c>: kernel threads always live in the initial namespace).
    /// </summary>
    public string? MetricsNamespacePath { get; init; }

    /// <summary>Policy enforcement mode: <c>default</c>, <c>always</c> or <c>never</c> (Cilium's <c>--enable-policy</c>).</summary>
    public string PolicyEnforcement { get; init; } = "default";

    /// <summary>A policy-verdict event for every new connection's policy decision.</summary>
    public bool PolicyVerdictEvents { get; init; } = true;

    /// <summary>Which forwarded packets produce trace events.</summary>
    public TraceEventLevel TraceEvents { get; init; } = TraceEventLevel.NewFlowsAndStateChanges;

    /// <summary>Kernel event ring buffer size (a power of two). Part of the pinned maps: keep it across restarts.</summary>
    public int EventBufferBytes { get; init; } = 1 << 20;

    /// <summary>Conntrack capacity. Part of the pinned maps: keep it across restarts.</summary>
    public int ConntrackCapacity { get; init; } = DatapathOptions.DefaultConntrackCapacity;

    /// <summary>How often expired conntrack entries are collected.</summary>
    public TimeSpan ConntrackGcInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Kernel events queued between the datapath's reader thread and flow building; a burst beyond it is counted as lost.</summary>
    public int EventQueueCapacity { get; init; } = 65536;

    /// <summary>The node name flows carry; null = the instance name.</summary>
    public string? NodeName { get; init; }

    /// <summary>Directory of the compiled BPF objects; null = next to the datapath assembly.</summary>
    public string? BpfObjectDirectory { get; init; }

    /// <summary>Where bpffs is mounted.</summary>
    public string BpffsRoot { get; init; } = "/sys/fs/bpf";
}
