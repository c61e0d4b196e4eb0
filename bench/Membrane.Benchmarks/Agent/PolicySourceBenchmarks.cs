using System.Net;
using BenchmarkDotNet.Attributes;
using Membrane.Agent.Endpoints;
using Membrane.Agent.Proxy;
using Membrane.Agent.State;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Repository;
using Membrane.Proxy;

namespace Membrane.Benchmarks.Agent;

/// <summary>
/// What the proxy pays per accepted connection (and per request after a policy change) to learn its policy in
/// transparent mode: <see cref="AgentPolicySource.Resolve"/> for the seed's frontend → users:80 (both sides local,
/// HTTP rules on the destination's ingress). Baseline: the one map-state lookup of the destination's ingress. A second
/// connection of the same client to the same port at the same revision is answered from memory; the first one after a
/// change pays for identities, both sides' lookups and the rule-set fetch.
/// </summary>
[MemoryDiagnoser]
public class PolicySourceBenchmarks
{
    private AgentPolicySource _source = null!;
    private EndpointPolicy _users = null!;
    private ConnectionInfo _connection = null!;
    private NumericIdentity _frontendIdentity;
    private long _revision = 1;

    /// <summary>The seed's user-service policy, three endpoints.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var policy = File.ReadAllText(Path.Combine(FindRoot(), "examples", "seed", "user-service-api-policy.yaml"));
        var ipCache = new InMemoryIpCache();
        var repository = new PolicyRepository(new LocalIdentityAllocator(), ipCache);
        repository.ReplaceAll(PolicyLoader.LoadText(policy, "user-service-api-policy.yaml").Policies);
        var endpoints = new[] { ("frontend", "10.244.1.11"), ("users", "10.244.1.12"), ("billing", "10.244.1.13") }
            .Select((p, i) => Endpoint(repository, (ushort)(i + 1), p.Item1, p.Item2)).ToList();
        var view = new AgentView(endpoints, ReservedIdentities.Identities.Select(i => KeyValuePair.Create(i.Key.Value, i.Value)), 1);
        _source = new AgentPolicySource(() => view, ipCache, repository, () => _revision);
        _users = repository.GetEndpointPolicy(2)!;
        _frontendIdentity = endpoints[0].Identity;
        _connection = new ConnectionInfo(new IPEndPoint(endpoints[0].Address, 49876), new IPEndPoint(endpoints[1].Address, 80), ProxyMode.Transparent, 15080);
        _source.Resolve(_connection);
    }

    /// <summary>Baseline: the destination's ingress lookup alone.</summary>
    [Benchmark(Baseline = true)]
    public object IngressLookup() => _users.Lookup(TrafficDirection.Ingress, _frontendIdentity, 6, 80);

    /// <summary>Another connection of the same client to the same port, same revision.</summary>
    [Benchmark]
    public ConnectionPolicy Resolve() => _source.Resolve(_connection);

    /// <summary>The first connection (or request) after the revision moved: computed in full.</summary>
    [Benchmark]
    public ConnectionPolicy ResolveAfterChange()
    {
        _revision++;
        return _source.Resolve(_connection);
    }

    private static EndpointView Endpoint(PolicyRepository repository, ushort id, string app, string ip)
    {
        repository.UpsertEndpoint(new EndpointInfo(id, app, "default", LabelSet.Parse($"app={app}"), IPAddress.Parse(ip), []));
        var policy = repository.GetEndpointPolicy(id)!;
        var state = new EndpointState { Id = id, PodName = app, Namespace = "default", Labels = new() { ["app"] = app }, InterfaceName = $"veth{id}", IPv4 = ip };
        return new EndpointView(state, policy.Identity, policy.Endpoint.IdentityLabels, IPAddress.Parse(ip));
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Membrane.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Membrane.slnx not found above " + AppContext.BaseDirectory);
    }
}
