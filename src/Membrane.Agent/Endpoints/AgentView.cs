using System.Collections.Frozen;
using System.Net;
using Membrane.Agent.State;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;
using Membrane.Proxy;

namespace Membrane.Agent.Endpoints;

/// <summary>One endpoint as readers on hot paths see it (immutable; the proxy and the flow adapters share it).</summary>
internal sealed class EndpointView
{
    public EndpointView(EndpointState state, NumericIdentity identity, LabelSet identityLabels, IPAddress address)
    {
        State = state;
        Id = (ushort)state.Id;
        Identity = identity;
        Labels = identityLabels;
        Address = address;
        Peer = new PeerInfo(identity.Value, Id, state.Namespace, state.PodName, identityLabels);
    }

    public EndpointState State { get; }

    public ushort Id { get; }

    public string PodName => State.PodName;

    public string Namespace => State.Namespace;

    public string InterfaceName => State.InterfaceName;

    public NumericIdentity Identity { get; }

    /// <summary>Its identity labels (<c>k8s:app=users</c>, <c>k8s:io.kubernetes.pod.namespace=default</c>, ...).</summary>
    public LabelSet Labels { get; }

    public IPAddress Address { get; }

    /// <summary>The proxy's view of it.</summary>
    public PeerInfo Peer { get; }
}

/// <summary>
/// An immutable snapshot of what the agent knows, swapped as a whole after every change so that the proxy (socket
/// threads) and the flow adapters read it without locks: endpoints by id and address, and every identity's labels.
/// </summary>
internal sealed class AgentView
{
    private readonly FrozenDictionary<ushort, EndpointView> _byId;
    private readonly FrozenDictionary<IPAddress, EndpointView> _byAddress;
    private readonly FrozenDictionary<uint, LabelSet> _identities;
    private readonly FrozenDictionary<uint, PeerInfo> _peers;

    public AgentView(IEnumerable<EndpointView> endpoints, IEnumerable<KeyValuePair<uint, LabelSet>> identities, long policyRevision)
    {
        var list = endpoints.ToList();
        _byId = list.ToFrozenDictionary(e => e.Id);
        _byAddress = list.ToFrozenDictionary(e => e.Address);
        _identities = identities.DistinctBy(i => i.Key).ToFrozenDictionary(i => i.Key, i => i.Value);
        _peers = _identities.ToFrozenDictionary(i => i.Key, i => new PeerInfo(i.Key, 0, null, null, i.Value));
        PolicyRevision = policyRevision;
    }

    public static AgentView Empty { get; } = new([], [], 0);

    public long PolicyRevision { get; }

    public IEnumerable<EndpointView> Endpoints => _byId.Values.OrderBy(e => e.Id);

    public int EndpointCount => _byId.Count;

    public IEnumerable<KeyValuePair<uint, LabelSet>> Identities => _identities.OrderBy(i => i.Key);

    public int IdentityCount => _identities.Count;

    public EndpointView? ById(ushort id) => _byId.GetValueOrDefault(id);

    public EndpointView? ByAddress(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return _byAddress.GetValueOrDefault(address);
    }

    public LabelSet? LabelsOf(uint identity) => _identities.GetValueOrDefault(identity);

    /// <summary>The proxy's view of a peer that is not a local endpoint (labels when the identity is known).</summary>
    public PeerInfo RemotePeer(uint identity) =>
        _peers.TryGetValue(identity, out var peer) ? peer : new PeerInfo(identity, 0, null, null, LabelSet.Empty);
}
