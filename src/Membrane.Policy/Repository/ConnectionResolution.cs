using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Policy.Repository;

/// <summary>
/// Policy's answer for one connection (<see cref="PolicyRepository.ResolveConnection"/>): both identities, both
/// enforcement points, and the L7 rules of each side that sends the connection to the proxy. A side whose lookup
/// allows without a redirect has no L7 rule set: its rules do not restrict requests (an L4 allow wildcards L7).
/// </summary>
/// <param name="Revision">The repository revision read.</param>
/// <param name="SourceIdentity">The client's identity (endpoint, or ipcache).</param>
/// <param name="DestinationIdentity">The server's identity.</param>
/// <param name="SourceEndpoint">The client's policy when it is a local endpoint.</param>
/// <param name="DestinationEndpoint">The server's policy when it is a local endpoint.</param>
/// <param name="Egress">The client's egress lookup, or null when the client is not local.</param>
/// <param name="Ingress">The server's ingress lookup, or null when the server is not local.</param>
/// <param name="Protocol">The engine the redirect asks for (the egress side's, else the ingress side's).</param>
/// <param name="HttpEgress">HTTP rules of the client's egress, when it redirects.</param>
/// <param name="HttpIngress">HTTP rules of the server's ingress, when it redirects.</param>
/// <param name="KafkaEgress">Kafka rules of the client's egress, when it redirects.</param>
/// <param name="KafkaIngress">Kafka rules of the server's ingress, when it redirects.</param>
public sealed record ConnectionResolution(
    long Revision,
    NumericIdentity SourceIdentity,
    NumericIdentity DestinationIdentity,
    EndpointPolicy? SourceEndpoint,
    EndpointPolicy? DestinationEndpoint,
    MapLookupResult? Egress,
    MapLookupResult? Ingress,
    L7Protocol Protocol,
    HttpRuleSet? HttpEgress,
    HttpRuleSet? HttpIngress,
    KafkaRuleSet? KafkaEgress,
    KafkaRuleSet? KafkaIngress)
{
    /// <summary>True if neither side drops the connection at L3/L4.</summary>
    public bool L4Allowed => Egress?.IsAllowed != false && Ingress?.IsAllowed != false;

    /// <summary>The policies behind the L3/L4 verdict: the deciding entries' policies, or on a drop the policies that
    /// denied it (181) or put the dropping side into default deny (133).</summary>
    public IReadOnlyList<PolicyRef> L4DecidedBy
    {
        get
        {
            IEnumerable<PolicyRef> Of(MapLookupResult? r, EndpointPolicy? ep, TrafficDirection d) => r switch
            {
                null => [],
                { DropReason: PolicyDropReason.PolicyDenied } => ep![d].DefaultDenyBy,
                { Matched: { } m } => m.Value.DerivedFrom,
                _ => [],
            };

            var sides = L4Allowed
                ? Of(Egress, SourceEndpoint, TrafficDirection.Egress).Concat(Of(Ingress, DestinationEndpoint, TrafficDirection.Ingress))
                : Egress?.IsAllowed == false ? Of(Egress, SourceEndpoint, TrafficDirection.Egress) : Of(Ingress, DestinationEndpoint, TrafficDirection.Ingress);
            return [.. sides.Distinct()];
        }
    }
}
