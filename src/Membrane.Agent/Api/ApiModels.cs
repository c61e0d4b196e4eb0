namespace Membrane.Agent.Api;

/// <summary>
/// <c>POST /v1/endpoints</c>: create an endpoint for a pod network namespace, or adopt the existing one of the same
/// pod (same namespace and name) when the interface and address match.
/// </summary>
public sealed record EndpointCreateRequest
{
    /// <summary>Pod name (unique within its namespace).</summary>
    public required string PodName { get; init; }

    /// <summary>Kubernetes-style namespace of the pod.</summary>
    public required string Namespace { get; init; }

    /// <summary>Pod labels (<c>app: users</c>; a key may carry a source prefix such as <c>k8s:</c>).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Labels of the pod's namespace (selectable as <c>io.cilium.k8s.namespace.labels.KEY</c>).</summary>
    public IReadOnlyDictionary<string, string>? NamespaceLabels { get; init; }

    /// <summary>The pod's service account, or null.</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>The host-side veth of the pod in the node network namespace (where the datapath attaches).</summary>
    public required string InterfaceName { get; init; }

    /// <summary>The pod's IPv4 address.</summary>
    public required string IPv4 { get; init; }

    /// <summary>Named container ports (targets of named ports in policies).</summary>
    public IReadOnlyList<NamedPortModel>? NamedPorts { get; init; }
}

/// <summary>A named container port.</summary>
/// <param name="Name">Port name (lower case).</param>
/// <param name="Port">Port number.</param>
/// <param name="Protocol"><c>TCP</c>, <c>UDP</c> or <c>SCTP</c>.</param>
public sealed record NamedPortModel(string Name, int Port, string Protocol = "TCP");

/// <summary>A policy as named in API answers (kind, namespace, name).</summary>
/// <param name="Kind"><c>CiliumNetworkPolicy</c>, <c>CiliumClusterwideNetworkPolicy</c> or <c>NetworkPolicy</c>.</param>
/// <param name="Namespace">Namespace; null for cluster-wide policies.</param>
/// <param name="Name">Name.</param>
public sealed record PolicyRefModel(string Kind, string? Namespace, string Name)
{
    /// <summary><c>namespace/name</c>, or the name alone for cluster-wide policies.</summary>
    public override string ToString() => Namespace is null ? Name : $"{Namespace}/{Name}";
}

/// <summary>An L7 redirect of an endpoint: traffic on a port goes through the proxy.</summary>
/// <param name="Direction"><c>ingress</c> or <c>egress</c>.</param>
/// <param name="PortProtocol">The port and protocol, as <c>80/TCP</c> or <c>8080-8081/TCP</c>.</param>
/// <param name="L7">The proxy engine: <c>http</c> or <c>kafka</c>.</param>
/// <param name="ProxyPort">The proxy listener port.</param>
public sealed record ProxyRedirectModel(string Direction, string PortProtocol, string L7, int ProxyPort);

/// <summary>One endpoint (<c>membrane endpoint list|get</c>).</summary>
public sealed record EndpointModel
{
    /// <summary>Endpoint id.</summary>
    public required int Id { get; init; }

    /// <summary>Pod name.</summary>
    public required string PodName { get; init; }

    /// <summary>Namespace.</summary>
    public required string Namespace { get; init; }

    /// <summary>Pod labels as given at creation.</summary>
    public required IReadOnlyDictionary<string, string> PodLabels { get; init; }

    /// <summary>Namespace labels as given at creation.</summary>
    public IReadOnlyDictionary<string, string> NamespaceLabels { get; init; } = new Dictionary<string, string>();

    /// <summary>The labels of its identity (<c>k8s:app=users</c>, ...), sorted.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>Its security identity.</summary>
    public required uint Identity { get; init; }

    /// <summary>Host-side interface in the node namespace.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>Its index in the node namespace (0 when not attached).</summary>
    public int InterfaceIndex { get; init; }

    /// <summary>IPv4 address.</summary>
    public required string IPv4 { get; init; }

    /// <summary>Named ports.</summary>
    public IReadOnlyList<NamedPortModel> NamedPorts { get; init; } = [];

    /// <summary><c>Enabled</c> when ingress is in default deny, else <c>Disabled</c>.</summary>
    public required string IngressEnforcement { get; init; }

    /// <summary><c>Enabled</c> when egress is in default deny, else <c>Disabled</c>.</summary>
    public required string EgressEnforcement { get; init; }

    /// <summary>The policies that put ingress into default deny.</summary>
    public IReadOnlyList<PolicyRefModel> IngressPolicies { get; init; } = [];

    /// <summary>The policies that put egress into default deny.</summary>
    public IReadOnlyList<PolicyRefModel> EgressPolicies { get; init; } = [];

    /// <summary>Number of ingress map-state entries.</summary>
    public int IngressEntries { get; init; }

    /// <summary>Number of egress map-state entries.</summary>
    public int EgressEntries { get; init; }

    /// <summary>L7 redirects (empty when no traffic of the endpoint goes through the proxy).</summary>
    public IReadOnlyList<ProxyRedirectModel> ProxyRedirects { get; init; } = [];

    /// <summary><c>ready</c> (policy realized in the kernel), <c>not-ready</c> or <c>disconnected</c> (interface gone).</summary>
    public required string Status { get; init; }

    /// <summary>How its programs are attached: <c>tcx</c> or <c>tc</c>.</summary>
    public string AttachMode { get; init; } = "";

    /// <summary>Policy revision its map state was computed at.</summary>
    public long PolicyRevision { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>In a create answer: true when an existing endpoint was adopted rather than created.</summary>
    public bool Adopted { get; init; }
}

/// <summary>One identity (<c>membrane identity list|get</c>).</summary>
/// <param name="Id">Numeric identity.</param>
/// <param name="Labels">Its labels, sorted.</param>
/// <param name="Scope"><c>reserved</c>, <c>cluster</c> or <c>local</c> (CIDR identities).</param>
/// <param name="Endpoints">Local endpoints with this identity.</param>
public sealed record IdentityModel(uint Id, IReadOnlyList<string> Labels, string Scope, IReadOnlyList<int> Endpoints);

/// <summary>A policy text with the name errors should carry (a file name, or <c>&lt;stdin&gt;</c>).</summary>
/// <param name="Name">File name as the user gave it.</param>
/// <param name="Text">YAML or JSON text.</param>
public sealed record PolicyDocument(string Name, string Text);

/// <summary><c>POST /v1/policies</c>: import (add or replace by kind, namespace and name) or replace the whole set.</summary>
public sealed record PolicyImportRequest
{
    /// <summary>The texts to load; every policy in them is validated before anything is applied.</summary>
    public required IReadOnlyList<PolicyDocument> Documents { get; init; }

    /// <summary>Replace the whole policy set with these documents (policies not in them are deleted).</summary>
    public bool ReplaceAll { get; init; }
}

/// <summary><c>POST /v1/policies/delete</c>: delete policies by name, or all of them.</summary>
public sealed record PolicyDeleteRequest
{
    /// <summary>Names to delete: kind may be empty (any kind), namespace null matches cluster-wide policies.</summary>
    public IReadOnlyList<PolicyRefModel> Policies { get; init; } = [];

    /// <summary>Delete every policy.</summary>
    public bool All { get; init; }
}

/// <summary>The result of a policy change.</summary>
/// <param name="Revision">The policy revision now enforcing.</param>
/// <param name="Changed">The policies added, replaced or deleted.</param>
/// <param name="EndpointsChanged">How many endpoints' map state changed.</param>
/// <param name="Warnings">Parts of the policies that are not enforced (they fail closed).</param>
public sealed record PolicyChangeResponse(long Revision, IReadOnlyList<PolicyRefModel> Changed, int EndpointsChanged, IReadOnlyList<string> Warnings);

/// <summary>One loaded policy.</summary>
public sealed record PolicyModel
{
    /// <summary>Kind, namespace and name.</summary>
    public required PolicyRefModel Policy { get; init; }

    /// <summary>Where it was read from: <c>file:line:column</c>.</summary>
    public required string Source { get; init; }

    /// <summary>The policy revision that imported it.</summary>
    public long Revision { get; init; }

    /// <summary>Ids of the local endpoints it selects.</summary>
    public IReadOnlyList<int> SelectedEndpoints { get; init; } = [];

    /// <summary>The text of the document it came from (only when asked for).</summary>
    public string? Text { get; init; }
}

/// <summary><c>GET /v1/policies</c>.</summary>
/// <param name="Revision">The policy revision now enforcing.</param>
/// <param name="Policies">The policies, ordered by kind, namespace and name.</param>
public sealed record PolicyListResponse(long Revision, IReadOnlyList<PolicyModel> Policies);

/// <summary>An imported policy text and the policies of it still loaded (what a restart reloads, what a live trace loads).</summary>
/// <param name="Name">File name as imported.</param>
/// <param name="Text">The text.</param>
/// <param name="Revision">The revision that imported it.</param>
/// <param name="Live">Its policies that are still loaded.</param>
public sealed record PolicySourceModel(string Name, string Text, long Revision, IReadOnlyList<PolicyRefModel> Live);

/// <summary><c>GET /v1/policies/sources</c>: the texts of the loaded policies, to evaluate them elsewhere exactly as loaded.</summary>
/// <param name="Revision">The policy revision now enforcing.</param>
/// <param name="Sources">The texts.</param>
public sealed record PolicySourcesResponse(long Revision, IReadOnlyList<PolicySourceModel> Sources);

/// <summary>An error answer. <see cref="Errors"/> carries every policy error with its location.</summary>
/// <param name="Message">What went wrong.</param>
/// <param name="Errors">Itemized errors (<c>file:line:column: field: message</c>), or empty.</param>
public sealed record ApiError(string Message, IReadOnlyList<string> Errors);

/// <summary><c>POST /v1/flows</c>: <c>membrane observe</c> arguments, forwarded as the CLI parsed them.</summary>
/// <param name="Arguments">Filter and selector flags (<c>FlowFilterSpec.Arguments</c>).</param>
public sealed record ObserveRequest(IReadOnlyList<string> Arguments);

/// <summary><c>POST /v1/monitor</c>: a live event stream rendered as <c>cilium monitor</c> lines (or JSON).</summary>
public sealed record MonitorRequest
{
    /// <summary>Event kinds: <c>drop</c>, <c>trace</c>, <c>policy-verdict</c>, <c>l7</c>; empty = all.</summary>
    public IReadOnlyList<string> Types { get; init; } = [];

    /// <summary>Only events of these endpoints (the endpoint whose policy or proxy rules applied).</summary>
    public IReadOnlyList<int> From { get; init; } = [];

    /// <summary>Only events towards these endpoints (the destination endpoint).</summary>
    public IReadOnlyList<int> To { get; init; } = [];

    /// <summary>Only events where one of these endpoints is the source or the destination.</summary>
    public IReadOnlyList<int> RelatedTo { get; init; } = [];

    /// <summary>One JSON object per event instead of text lines.</summary>
    public bool Json { get; init; }

    /// <summary>Print identities as numbers only.</summary>
    public bool Numeric { get; init; }

    /// <summary>Append the policies that decided each event.</summary>
    public bool PrintPolicyNames { get; init; }
}

/// <summary>One entry of an endpoint's kernel policy map (<c>membrane bpf policy get</c>).</summary>
public sealed record BpfPolicyEntryModel
{
    /// <summary><c>Ingress</c> or <c>Egress</c>.</summary>
    public required string Direction { get; init; }

    /// <summary>Peer identity (0 = any).</summary>
    public required uint Identity { get; init; }

    /// <summary>The identity's labels (<c>reserved:unknown</c> style for 0: <c>ANY</c>).</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary><c>80/TCP</c>, <c>8000-8191/TCP</c>, <c>TCP</c> or <c>ANY</c>.</summary>
    public required string PortProtocol { get; init; }

    /// <summary>IP protocol number (0 = any).</summary>
    public int Protocol { get; init; }

    /// <summary>First port covered.</summary>
    public int Port { get; init; }

    /// <summary>Port prefix length (16 = one port).</summary>
    public int PortPrefixLength { get; init; }

    /// <summary><c>allow</c>, <c>deny</c> or <c>redirect</c>.</summary>
    public required string Verdict { get; init; }

    /// <summary>L7 engine of a redirect (<c>http</c>, <c>kafka</c>), else empty.</summary>
    public string L7 { get; init; } = "";

    /// <summary>Proxy port of a redirect, else 0.</summary>
    public int ProxyPort { get; init; }

    /// <summary>The policy cookie stored in the entry.</summary>
    public uint Cookie { get; init; }

    /// <summary>The policies behind the entry.</summary>
    public IReadOnlyList<PolicyRefModel> Policies { get; init; } = [];
}

/// <summary><c>GET /v1/bpf/policy/{id}</c>.</summary>
/// <param name="EndpointId">The endpoint.</param>
/// <param name="Entries">Its kernel map, sorted by direction, identity, protocol and port.</param>
public sealed record BpfPolicyResponse(int EndpointId, IReadOnlyList<BpfPolicyEntryModel> Entries);

/// <summary>One conntrack entry (<c>membrane bpf ct list</c>).</summary>
public sealed record ConntrackEntryModel
{
    /// <summary><c>TCP</c>, <c>UDP</c>, <c>SCTP</c>, <c>ICMP</c> or the number.</summary>
    public required string Protocol { get; init; }

    /// <summary>Source address and port of the first packet.</summary>
    public required string Source { get; init; }

    /// <summary>Destination address and port.</summary>
    public required string Destination { get; init; }

    /// <summary><c>egress</c> (opened by the endpoint) or <c>ingress</c> (accepted by it).</summary>
    public required string Direction { get; init; }

    /// <summary>The endpoint whose policy admitted the connection.</summary>
    public int EndpointId { get; init; }

    /// <summary>Identity of the opener.</summary>
    public uint SourceIdentity { get; init; }

    /// <summary>Identity of the other side.</summary>
    public uint DestinationIdentity { get; init; }

    /// <summary><c>new</c>, <c>established</c>, <c>closing</c> or <c>expired</c>.</summary>
    public required string State { get; init; }

    /// <summary>Flags (<c>seen-reply</c>, <c>proxy-redirect</c>, ...).</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];

    /// <summary>Packets from the opener.</summary>
    public ulong ForwardPackets { get; init; }

    /// <summary>Bytes from the opener.</summary>
    public ulong ForwardBytes { get; init; }

    /// <summary>Packets to the opener.</summary>
    public ulong ReplyPackets { get; init; }

    /// <summary>Bytes to the opener.</summary>
    public ulong ReplyBytes { get; init; }

    /// <summary>Proxy port of a redirected connection, else 0.</summary>
    public int ProxyPort { get; init; }

    /// <summary>Seconds until expiry (0 or less: expired).</summary>
    public long ExpiresInSeconds { get; init; }

    /// <summary>The policies that admitted it.</summary>
    public IReadOnlyList<PolicyRefModel> Policies { get; init; } = [];
}

/// <summary>One ipcache entry (<c>membrane bpf ipcache list</c>).</summary>
/// <param name="Prefix">The prefix (<c>10.244.1.10/32</c>).</param>
/// <param name="Identity">Its identity.</param>
/// <param name="Labels">The identity's labels.</param>
/// <param name="EndpointId">The local endpoint owning the address, or 0.</param>
public sealed record IpcacheEntryModel(string Prefix, uint Identity, IReadOnlyList<string> Labels, int EndpointId);

/// <summary>A kernel feature probed at start (<c>membrane status</c>).</summary>
/// <param name="Name">Feature name: <c>tcx</c>, <c>ringbuf</c>, <c>sk_assign</c>, <c>lpm_trie</c>, ...</param>
/// <param name="Available">True when the kernel has it.</param>
public sealed record FeatureModel(string Name, bool Available);

/// <summary>How full a map is.</summary>
/// <param name="Name">Map name.</param>
/// <param name="Entries">Entries in use.</param>
/// <param name="Capacity">Maximum entries.</param>
public sealed record MapFillModel(string Name, int Entries, int Capacity);

/// <summary>A running proxy listener.</summary>
/// <param name="Protocol"><c>http</c> or <c>kafka</c>.</param>
/// <param name="Address">Listening address (<c>0.0.0.0:15080</c>).</param>
/// <param name="Redirects">Endpoint redirects that use it.</param>
public sealed record ProxyListenerModel(string Protocol, string Address, int Redirects);

/// <summary>Dropped packets for one reason and direction.</summary>
/// <param name="Reason">Cilium's text (<c>Policy denied</c>).</param>
/// <param name="Code">Drop reason number.</param>
/// <param name="Direction"><c>ingress</c> or <c>egress</c>.</param>
/// <param name="Packets">Packets.</param>
public sealed record DropCountModel(string Reason, int Code, string Direction, ulong Packets);

/// <summary>Counts of flows and of events lost on the way.</summary>
public sealed record FlowStatusModel
{
    /// <summary>Flows the buffer holds now.</summary>
    public long CurrentFlows { get; init; }

    /// <summary>Flow buffer capacity.</summary>
    public int MaxFlows { get; init; }

    /// <summary>Flows written since the agent started.</summary>
    public long SeenFlows { get; init; }

    /// <summary>Every event lost on the way: the sum of the counters below.</summary>
    public long LostTotal { get; init; }

    /// <summary>Kernel events the ring buffer had no room for.</summary>
    public long LostInKernelRingBuffer { get; init; }

    /// <summary>Events read from the kernel but not queued (the agent's event queue was full).</summary>
    public long LostInEventQueue { get; init; }

    /// <summary>Flows the flow buffer dropped on write (a writer lapped a stalled writer).</summary>
    public long LostInFlowBuffer { get; init; }

    /// <summary>Flows followers (<c>observe -f</c>, <c>monitor</c>) fell too far behind to receive.</summary>
    public long LostToReaders { get; init; }
}

/// <summary>Health of one subsystem.</summary>
/// <param name="Name">Subsystem.</param>
/// <param name="Ok">True when healthy.</param>
/// <param name="Message">Detail.</param>
public sealed record HealthModel(string Name, bool Ok, string Message);

/// <summary><c>GET /v1/status</c> (<c>membrane status</c>).</summary>
public sealed record StatusModel
{
    /// <summary>Agent instance name.</summary>
    public required string Instance { get; init; }

    /// <summary>Membrane version.</summary>
    public required string Version { get; init; }

    /// <summary>Agent process id.</summary>
    public int ProcessId { get; init; }

    /// <summary>When the agent started.</summary>
    public DateTimeOffset Started { get; init; }

    /// <summary>Node network namespace the agent enforces.</summary>
    public required string NodeNamespace { get; init; }

    /// <summary>The agent's state directory.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Kernel release (uname -r).</summary>
    public required string Kernel { get; init; }

    /// <summary>BPF features probed at start.</summary>
    public required IReadOnlyList<FeatureModel> Features { get; init; }

    /// <summary>Datapath mode: <c>tcx</c> or <c>tc</c> (clsact) attachment.</summary>
    public required string DatapathMode { get; init; }

    /// <summary>bpffs directory of the instance's maps.</summary>
    public required string PinRoot { get; init; }

    /// <summary>Map fill levels (per-endpoint policy maps included).</summary>
    public required IReadOnlyList<MapFillModel> Maps { get; init; }

    /// <summary>Proxy listeners.</summary>
    public required IReadOnlyList<ProxyListenerModel> ProxyListeners { get; init; }

    /// <summary>Number of endpoints.</summary>
    public int Endpoints { get; init; }

    /// <summary>Number of identities (reserved ones included).</summary>
    public int Identities { get; init; }

    /// <summary>Number of policies.</summary>
    public int Policies { get; init; }

    /// <summary>The policy revision now enforcing.</summary>
    public long PolicyRevision { get; init; }

    /// <summary>The policy enforcement mode: <c>default</c>, <c>always</c> or <c>never</c>.</summary>
    public string PolicyEnforcement { get; init; } = "default";

    /// <summary>Flows seen and lost.</summary>
    public required FlowStatusModel Flows { get; init; }

    /// <summary>Packets forwarded by the datapath.</summary>
    public ulong ForwardedPackets { get; init; }

    /// <summary>Packets redirected to the proxy.</summary>
    public ulong ProxyRedirects { get; init; }

    /// <summary>Dropped packets by reason and direction.</summary>
    public IReadOnlyList<DropCountModel> Drops { get; init; } = [];

    /// <summary>Expired conntrack entries collected.</summary>
    public long ConntrackCollected { get; init; }

    /// <summary>Where <c>/metrics</c> is served (host network namespace), or empty when it could not be bound.</summary>
    public string MetricsAddress { get; init; } = "";

    /// <summary>Health of each subsystem.</summary>
    public required IReadOnlyList<HealthModel> Health { get; init; }

    /// <summary>True when every subsystem is healthy.</summary>
    public bool Healthy => Health.All(h => h.Ok);
}
