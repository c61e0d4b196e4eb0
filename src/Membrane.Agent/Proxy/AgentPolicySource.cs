using System.Collections.Concurrent;
using System.Net;
using Membrane.Agent.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;
using Membrane.Proxy;

namespace Membrane.Agent.Proxy;

/// <summary>
/// The proxy's policy in transparent mode (contracts.md "Datapath ↔ Proxy"): the client's identity from the ipcache
/// (its address is preserved), the original destination's local endpoint, and for each local side the same lookup the
/// datapath made (the source's egress, the destination's ingress) with that side's L7 rule sets. Lock-free: it reads
/// the repository's published snapshot and the agent's immutable view, so socket threads never wait.
/// </summary>
internal sealed class AgentPolicySource(Func<AgentView> view, IIpCache ipCache, PolicyRepository repository, Func<long> revision) : IProxyPolicySource
{
    private const byte Tcp = 6;

    /// <summary>Bound on remembered (client, destination, port) answers; past it the memory starts over.</summary>
    private const int MaxRemembered = 16_384;

    private readonly ConcurrentDictionary<(IPAddress Client, IPAddress Server, ushort Port), ConnectionPolicy> _remembered = new();

    /// <summary>Moves after every change of policies, endpoints or identities (after the new state is visible).</summary>
    public long Revision => revision();

    /// <summary>
    /// The policy of a connection. Every connection from one client to one destination port at one revision gets the
    /// same answer, so it is computed once per revision (the proxy asks per connection, and per request after a change).
    /// </summary>
    public ConnectionPolicy Resolve(ConnectionInfo connection)
    {
        var rev = revision();
        var key = (Normalize(connection.Client.Address), Normalize(connection.OriginalDestination.Address), (ushort)connection.OriginalDestination.Port);
        if (_remembered.TryGetValue(key, out var known) && known.Revision == rev)
        {
            return known;
        }

        var computed = Compute(rev, key.Item1, key.Item2, key.Item3);
        if (_remembered.Count >= MaxRemembered)
        {
            _remembered.Clear();
        }

        _remembered[key] = computed;
        return computed;
    }

    private ConnectionPolicy Compute(long rev, IPAddress clientAddress, IPAddress serverAddress, ushort port)
    {
        var current = view();
        var source = current.ByAddress(clientAddress);
        var destination = current.ByAddress(serverAddress);
        var sourceIdentity = source?.Identity ?? ipCache.Lookup(clientAddress);
        var destinationIdentity = destination?.Identity ?? ipCache.Lookup(serverAddress);

        var allowed = source is not null || destination is not null;
        var protocol = L7Protocol.None;
        var decidedBy = new List<PolicyRef>();
        Membrane.Policy.L7.Http.HttpRuleSet? httpEgress = null, httpIngress = null;
        Membrane.Policy.L7.Kafka.KafkaRuleSet? kafkaEgress = null, kafkaIngress = null;

        if (source is not null)
        {
            var policy = repository.GetEndpointPolicy(source.Id);
            if (policy is null)
            {
                allowed = false;
            }
            else
            {
                var lookup = policy.Lookup(TrafficDirection.Egress, destinationIdentity, Tcp, port);
                allowed &= lookup.IsAllowed;
                Collect(lookup, decidedBy, ref protocol);
                httpEgress = policy.GetHttpRules(TrafficDirection.Egress, destinationIdentity, Tcp, port);
                kafkaEgress = policy.GetKafkaRules(TrafficDirection.Egress, destinationIdentity, Tcp, port);
            }
        }

        if (destination is not null)
        {
            var policy = repository.GetEndpointPolicy(destination.Id);
            if (policy is null)
            {
                allowed = false;
            }
            else
            {
                var lookup = policy.Lookup(TrafficDirection.Ingress, sourceIdentity, Tcp, port);
                allowed &= lookup.IsAllowed;
                var ingressProtocol = L7Protocol.None;
                Collect(lookup, decidedBy, ref ingressProtocol);
                if (ingressProtocol != L7Protocol.None)
                {
                    protocol = ingressProtocol;
                }

                httpIngress = policy.GetHttpRules(TrafficDirection.Ingress, sourceIdentity, Tcp, port);
                kafkaIngress = policy.GetKafkaRules(TrafficDirection.Ingress, sourceIdentity, Tcp, port);
            }
        }

        return new ConnectionPolicy
        {
            Revision = rev,
            Source = source?.Peer ?? current.RemotePeer(sourceIdentity.Value),
            Destination = destination?.Peer ?? current.RemotePeer(destinationIdentity.Value),
            DestinationPort = port,
            L4Allowed = allowed,
            L4DecidedBy = decidedBy.Distinct().ToList(),
            Protocol = protocol,
            HttpEgress = protocol == L7Protocol.Http ? httpEgress : null,
            HttpIngress = protocol == L7Protocol.Http ? httpIngress : null,
            KafkaEgress = protocol == L7Protocol.Kafka ? kafkaEgress : null,
            KafkaIngress = protocol == L7Protocol.Kafka ? kafkaIngress : null,
        };
    }

    private static void Collect(MapLookupResult lookup, List<PolicyRef> decidedBy, ref L7Protocol protocol)
    {
        if (lookup.Matched is { } matched)
        {
            decidedBy.AddRange(matched.Value.DerivedFrom);
            if (lookup.Verdict == LookupVerdict.Redirected)
            {
                protocol = matched.Value.L7;
            }
        }
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
