using System.Globalization;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;

namespace Membrane.Policy.Tests.Builders;

/// <summary>A repository with an in-memory allocator and ipcache, and helpers to render map state readably.</summary>
internal sealed class TestRepository
{
    public TestRepository(PolicyRepositoryOptions? options = null)
    {
        Allocator = new LocalIdentityAllocator();
        IpCache = new InMemoryIpCache();
        Repository = new PolicyRepository(Allocator, IpCache, options);
    }

    public LocalIdentityAllocator Allocator { get; }

    public InMemoryIpCache IpCache { get; }

    public PolicyRepository Repository { get; }

    public Dictionary<uint, string> Names { get; } = [];

    public EndpointInfo Add(EndpointInfo endpoint)
    {
        Repository.UpsertEndpoint(endpoint);
        var id = Repository.GetEndpointPolicy(endpoint.Id)!.Identity;
        Names[id.Value] = endpoint.PodName;
        return endpoint;
    }

    public EndpointInfo Add(ushort id, string ns, string labels, string? ip = null, params NamedPort[] named) =>
        Add(Policies.Endpoint(id, ns, labels, ip, named));

    public NumericIdentity IdentityOf(ushort endpointId) => Repository.GetEndpointPolicy(endpointId)!.Identity;

    public EndpointPolicy Policy(ushort endpointId) => Repository.GetEndpointPolicy(endpointId)!;

    public string Name(uint identity)
    {
        if (identity == 0)
        {
            return "*";
        }

        if (Names.TryGetValue(identity, out var n))
        {
            return n;
        }

        var id = new NumericIdentity(identity);
        if (id.ReservedName is { } r)
        {
            return "reserved:" + r;
        }

        return Repository.TryGetIdentityLabels(id, out var labels)
            ? labels.FirstOrDefault(l => l.Source == Label.SourceCidr).ToString() ?? labels.ToString()
            : identity.ToString(CultureInfo.InvariantCulture);
    }

    public string Render(KeyValuePair<PolicyKey, PolicyEntry> e)
    {
        var (k, v) = (e.Key, e.Value);
        var verdict = v.Verdict switch
        {
            PolicyVerdict.Allow => "allow",
            PolicyVerdict.Deny => "deny",
            _ => "redirect:" + v.L7.ToString().ToLowerInvariant(),
        };
        var dir = k.Direction == TrafficDirection.Ingress ? "ingress" : "egress";
        return $"{dir} {Name(k.Identity)} {k.PortProtocolText} {verdict}";
    }

    /// <summary>Every entry of an endpoint, rendered and sorted.</summary>
    public string[] Entries(ushort endpointId) => [.. Policy(endpointId).Entries.Select(Render).Order(StringComparer.Ordinal)];
}
