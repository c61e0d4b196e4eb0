using System.Net;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Proxy;

/// <summary>How a connection reached the proxy.</summary>
public enum ProxyMode
{
    /// <summary>Redirected by the datapath to an <c>IP_TRANSPARENT</c> listener; the original destination is the
    /// accepted socket's local address (getsockname).</summary>
    Transparent,

    /// <summary>A plain listener with a static upstream and peer identity (<c>membrane proxy</c>, tests).</summary>
    Explicit,
}

/// <summary>What the proxy knows about an accepted connection before any byte is parsed.</summary>
/// <param name="Client">The client's address (the pod's IP in transparent mode).</param>
/// <param name="OriginalDestination">Where the client was connecting to (transparent) or the configured upstream (explicit).</param>
/// <param name="Mode">Transparent or explicit.</param>
/// <param name="ListenerPort">The local port the connection was accepted on.</param>
public sealed record ConnectionInfo(IPEndPoint Client, IPEndPoint OriginalDestination, ProxyMode Mode, int ListenerPort);

/// <summary>One side of a connection as flows show it (Hubble's <c>Endpoint</c>).</summary>
/// <param name="Identity">Numeric security identity.</param>
/// <param name="EndpointId">Local endpoint id, or 0 when the peer is not a local endpoint.</param>
/// <param name="Namespace">Kubernetes-style namespace, or null.</param>
/// <param name="PodName">Pod name, or null.</param>
/// <param name="Labels">Identity labels.</param>
public sealed record PeerInfo(uint Identity, ushort EndpointId, string? Namespace, string? PodName, LabelSet Labels);

/// <summary>
/// The policy that applies to one proxied connection at one policy revision (immutable; shared freely).
/// When both the source's egress and the destination's ingress carry L7 rules, a request must be allowed by both.
/// </summary>
public sealed class ConnectionPolicy
{
    /// <summary>Policy revision this was computed from; the proxy re-resolves when <see cref="IProxyPolicySource.Revision"/> moves.</summary>
    public required long Revision { get; init; }

    /// <summary>The client side.</summary>
    public required PeerInfo Source { get; init; }

    /// <summary>The server side.</summary>
    public required PeerInfo Destination { get; init; }

    /// <summary>Destination port the rules were selected for.</summary>
    public required int DestinationPort { get; init; }

    /// <summary>False when L3/L4 policy denies the connection: the proxy closes it at once and records a flow.</summary>
    public required bool L4Allowed { get; init; }

    /// <summary>Policies that decided the L3/L4 verdict (for flows); empty for default deny.</summary>
    public IReadOnlyList<PolicyRef> L4DecidedBy { get; init; } = [];

    /// <summary>Which engine parses the connection; <see cref="L7Protocol.None"/> relays bytes unparsed.</summary>
    public L7Protocol Protocol { get; init; }

    /// <summary>HTTP rules of the source's egress policy, or null if they do not apply.</summary>
    public HttpRuleSet? HttpEgress { get; init; }

    /// <summary>HTTP rules of the destination's ingress policy, or null if they do not apply.</summary>
    public HttpRuleSet? HttpIngress { get; init; }

    /// <summary>Kafka rules of the source's egress policy, or null.</summary>
    public KafkaRuleSet? KafkaEgress { get; init; }

    /// <summary>Kafka rules of the destination's ingress policy, or null.</summary>
    public KafkaRuleSet? KafkaIngress { get; init; }
}

/// <summary>
/// Where the proxy gets policy from: the agent (transparent mode, live policy) or a static explicit-mode
/// configuration. Implementations are thread-safe and non-blocking: the proxy calls them on socket threads.
/// </summary>
public interface IProxyPolicySource
{
    /// <summary>The current policy revision (a volatile read; checked before every request).</summary>
    long Revision { get; }

    /// <summary>Computes the policy for a connection at the current revision.</summary>
    ConnectionPolicy Resolve(ConnectionInfo connection);
}
