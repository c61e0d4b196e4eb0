using System.Net;
using Membrane.Policy.Model;

namespace Membrane.Policy.Trace;

/// <summary>One side of a traced connection: a workload (labels in a namespace, optionally with an address) or a
/// non-endpoint peer given only by its address (a CIDR identity, or <c>reserved:world</c>).</summary>
/// <param name="Labels">Pod labels; null for a peer that is not a Membrane endpoint.</param>
/// <param name="Namespace">The workload's namespace.</param>
/// <param name="Address">The address, or null.</param>
public sealed record TracePeer(LabelSet? Labels, string Namespace = "default", IPAddress? Address = null)
{
    /// <summary>True if the peer is a Membrane endpoint (it has labels).</summary>
    public bool IsEndpoint => Labels is not null;

    /// <summary>The pod's name when the peer is a known endpoint (a live trace), shown instead of its labels.</summary>
    public string? PodName { get; init; }

    /// <summary>Labels of the pod's namespace (they are part of its identity).</summary>
    public LabelSet NamespaceLabels { get; init; } = LabelSet.Empty;

    /// <summary>The pod's named ports (targets of named ports in policies).</summary>
    public IReadOnlyList<Membrane.Policy.Endpoints.NamedPort> NamedPorts { get; init; } = [];

    /// <summary>The pod's service account, or null.</summary>
    public string? ServiceAccount { get; init; }
}

/// <summary>An HTTP request to evaluate against the L7 rules (what the proxy would see).</summary>
/// <param name="Method">Method (case-sensitive).</param>
/// <param name="Path">Normalized path with query string.</param>
/// <param name="Host">Host header / <c>:authority</c>.</param>
/// <param name="Headers">Header fields.</param>
public sealed record HttpTraceRequest(string Method, string Path, string Host, IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>A Kafka request to evaluate: a role (every API key of the role is checked) or one API key.</summary>
/// <param name="Role"><c>produce</c> or <c>consume</c>, or null.</param>
/// <param name="ApiKey">An API key name (<c>fetch</c>) or number, or null.</param>
/// <param name="ApiVersion">The API version, or null for "any" (rules naming a version then do not match).</param>
/// <param name="Topic">The topic, or null.</param>
/// <param name="ClientId">The client id, or null.</param>
public sealed record KafkaTraceRequest(string? Role, string? ApiKey, short? ApiVersion, string? Topic, string? ClientId);

/// <summary>What to trace: a connection from <see cref="Source"/> to <see cref="Destination"/>, optionally one request on it.</summary>
/// <param name="Source">The client.</param>
/// <param name="Destination">The server.</param>
/// <param name="Protocol">IP protocol number (6 TCP, 17 UDP, 132 SCTP).</param>
/// <param name="Port">Destination port.</param>
/// <param name="Http">An HTTP request to evaluate, or null.</param>
/// <param name="Kafka">A Kafka request to evaluate, or null.</param>
public sealed record TraceRequest(TracePeer Source, TracePeer Destination, byte Protocol, ushort Port, HttpTraceRequest? Http = null, KafkaTraceRequest? Kafka = null);
