using System.Collections.Immutable;
using System.Net;
using BenchmarkDotNet.Attributes;
using Membrane.Agent.Endpoints;
using Membrane.Agent.Flows;
using Membrane.Agent.State;
using Membrane.Datapath.Events;
using Membrane.Observer;
using Membrane.Observer.Flows;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Repository;
using Membrane.Proxy;

namespace Membrane.Benchmarks.Agent;

/// <summary>
/// The agent's event adapters: a proxy event (a denied HTTP request) and a kernel event (a default-deny drop) turned
/// into flows and published. Baseline: publishing an already built flow, so the ratio is the adapter's own cost
/// (endpoint lookup, policy attribution). Expect 0 B allocated per event (policy lists are interned per revision).
/// </summary>
[MemoryDiagnoser]
public class FlowAdapterBenchmarks
{
    private FlowObserver _observer = null!;
    private ProxyFlowSink _proxy = null!;
    private DatapathFlowAdapter _datapath = null!;
    private L7Event _l7;
    private DatapathEvent _drop = null!;
    private Flow _built;

    /// <summary>A repository with the seed-like L3/L4 policy, two endpoints, and one event of each kind.</summary>
    [GlobalSetup]
    public void Setup()
    {
        const string Policy = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: users, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: users}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: frontend}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """;
        var repository = new PolicyRepository(new LocalIdentityAllocator(), new InMemoryIpCache());
        repository.ReplaceAll(PolicyLoader.LoadText(Policy, "users.yaml").Policies);
        var frontend = Endpoint(repository, 1, "frontend", "10.244.1.11");
        var users = Endpoint(repository, 2, "users", "10.244.1.12");
        var view = new AgentView([frontend, users], ReservedIdentities.Identities.Select(i => KeyValuePair.Create(i.Key.Value, i.Value)), 1);
        var cache = new FlowPolicyCache();
        cache.Reset(1);
        _observer = new FlowObserver();
        _proxy = new ProxyFlowSink(_observer, cache, "node");
        _datapath = new DatapathFlowAdapter(_observer, () => view, repository.GetEndpointPolicy, cache, enforcementAlways: false, "node");
        _l7 = new L7Event
        {
            Kind = L7EventKind.HttpRequest,
            TimestampUnixNs = 1,
            Connection = new ConnectionInfo(new IPEndPoint(frontend.Address, 49876), new IPEndPoint(users.Address, 80), ProxyMode.Transparent, 15080),
            Policy = new ConnectionPolicy { Revision = 1, Source = frontend.Peer, Destination = users.Peer, DestinationPort = 80, L4Allowed = true },
            Verdict = L7Verdict.Denied,
            DecidedBy = new PolicyRef("CiliumNetworkPolicy", "default", "users"),
            DeniedDirection = TrafficDirection.Ingress,
            HttpMethod = "DELETE",
            HttpUrl = "http://10.244.1.12/api/v1/users/123",
            HttpProtocol = "HTTP/1.1",
        };
        _drop = new DatapathEvent
        {
            Type = DatapathEventType.Drop,
            Time = DateTimeOffset.UnixEpoch,
            DropReason = Membrane.Datapath.Events.DropReason.PolicyDenied,
            Direction = TrafficDirection.Ingress,
            EndpointId = 2,
            SourceIdentity = NumericIdentity.World,
            DestinationIdentity = users.Identity,
            Source = IPAddress.Parse("203.0.113.9"),
            Destination = users.Address,
            Protocol = 6,
            SourcePort = 49876,
            DestinationPort = 80,
            InterfaceIndex = 5,
            Policies = ImmutableArray<PolicyRef>.Empty,
        };
        _built = _proxy.ToFlow(_l7);
        _proxy.Publish(_l7);
        _observer.Publish(_datapath.ToFlow(_drop));
    }

    /// <summary>Baseline: publish a flow built beforehand (ring write + metrics).</summary>
    [Benchmark(Baseline = true)]
    public void PublishBuiltFlow() => _observer.Publish(_built);

    /// <summary>A denied HTTP request from the proxy, adapted and published.</summary>
    [Benchmark]
    public void ProxyEvent() => _proxy.Publish(_l7);

    /// <summary>A default-deny kernel drop, adapted (endpoint lookup, default-deny attribution) and published.</summary>
    [Benchmark]
    public void KernelDrop() => _observer.Publish(_datapath.ToFlow(_drop));

    private static EndpointView Endpoint(PolicyRepository repository, ushort id, string app, string ip)
    {
        repository.UpsertEndpoint(new EndpointInfo(id, app, "default", LabelSet.Parse($"app={app}"), IPAddress.Parse(ip), []));
        var policy = repository.GetEndpointPolicy(id)!;
        var state = new EndpointState { Id = id, PodName = app, Namespace = "default", Labels = new() { ["app"] = app }, InterfaceName = $"veth{id}", IPv4 = ip };
        return new EndpointView(state, policy.Identity, policy.Endpoint.IdentityLabels, IPAddress.Parse(ip));
    }
}
