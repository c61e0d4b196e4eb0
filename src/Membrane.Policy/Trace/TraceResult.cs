using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;

namespace Membrane.Policy.Trace;

/// <summary>The final answer of a trace.</summary>
public enum TraceVerdict
{
    /// <summary>Both sides allow the connection (and the request, when one was given).</summary>
    Allowed,

    /// <summary>One side drops the connection or denies the request.</summary>
    Denied,
}

/// <summary>A traced peer as resolved: who it is and its identity.</summary>
/// <param name="Name"><c>namespace/name</c> for workloads, the address otherwise.</param>
/// <param name="Identity">Its security identity.</param>
/// <param name="Labels">The identity's labels.</param>
/// <param name="IsEndpoint">True if Membrane enforces policy on it.</param>
public sealed record TraceParty(string Name, NumericIdentity Identity, LabelSet Labels, bool IsEndpoint);

/// <summary>The L7 part of one side: which engine, and the verdict on the request when one was given.</summary>
/// <param name="Protocol">HTTP or Kafka.</param>
/// <param name="Policies">The policies whose L7 rules apply.</param>
/// <param name="Evaluated">True if a request was given and evaluated.</param>
/// <param name="Allowed">The request's verdict, or null when not evaluated.</param>
/// <param name="DecidedBy">The policy whose rule allowed it, or null.</param>
/// <param name="Detail">What was evaluated and why it passed or not.</param>
public sealed record L7Trace(L7Protocol Protocol, IReadOnlyList<PolicyRef> Policies, bool Evaluated, bool? Allowed, PolicyRef? DecidedBy, string Detail);

/// <summary>One enforcement point: the egress policy of the source or the ingress policy of the destination.</summary>
/// <param name="Direction">Egress (source side) or ingress (destination side).</param>
/// <param name="Endpoint">Whose policy it is.</param>
/// <param name="Enforced">True if the direction is in default deny.</param>
/// <param name="DefaultDenyBy">The policies that put it into default deny.</param>
/// <param name="Verdict">The L3/L4 lookup verdict.</param>
/// <param name="DropReason">133 or 181 when dropped.</param>
/// <param name="MatchedKey">The map key that decided, or null (default deny).</param>
/// <param name="MatchedEntry">Its entry, or null.</param>
/// <param name="Rules">The rules behind the matched entry.</param>
/// <param name="L7">The L7 part when the connection goes to the proxy, or null.</param>
public sealed record TraceSide(
    TrafficDirection Direction,
    string Endpoint,
    bool Enforced,
    IReadOnlyList<PolicyRef> DefaultDenyBy,
    LookupVerdict Verdict,
    PolicyDropReason DropReason,
    PolicyKey? MatchedKey,
    PolicyEntry? MatchedEntry,
    IReadOnlyList<RuleAttribution> Rules,
    L7Trace? L7)
{
    /// <summary>True if this side lets the traffic through (at L4 and, when evaluated, at L7).</summary>
    public bool Allows => Verdict != LookupVerdict.Denied && L7?.Allowed != false;
}

/// <summary>The outcome of <see cref="PolicyTracer.Trace"/>.</summary>
/// <param name="Verdict">Allowed or denied.</param>
/// <param name="Source">The client.</param>
/// <param name="Destination">The server.</param>
/// <param name="Protocol">IP protocol number.</param>
/// <param name="Port">Destination port.</param>
/// <param name="Egress">The source's egress side, or null when the source is not an endpoint.</param>
/// <param name="Ingress">The destination's ingress side, or null when the destination is not an endpoint.</param>
/// <param name="Warnings">Parts of the policies Membrane does not enforce.</param>
public sealed record TraceResult(
    TraceVerdict Verdict,
    TraceParty Source,
    TraceParty Destination,
    byte Protocol,
    ushort Port,
    TraceSide? Egress,
    TraceSide? Ingress,
    IReadOnlyList<PolicyError> Warnings);
