using System.Net;
using Membrane.Agent.Flows;
using Membrane.Observer;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;
using Membrane.Proxy;
using Membrane.Proxy.Kafka;

namespace Membrane.Agent.Proxy;

/// <summary>What <c>membrane proxy</c> enforces: a policy set, one destination endpoint, every client as one source.</summary>
public sealed record ExplicitProxyOptions
{
    /// <summary>The validated policies.</summary>
    public required IReadOnlyList<PolicyResource> Policies { get; init; }

    /// <summary>Where the proxy listens (port 0 picks a free port).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>The upstream server (the destination endpoint's real address).</summary>
    public required IPEndPoint Upstream { get; init; }

    /// <summary>Labels every client is treated as having (<c>--src</c>).</summary>
    public required LabelSet SourceLabels { get; init; }

    /// <summary>Labels of the destination endpoint the proxy stands in front of (<c>--dst</c>).</summary>
    public required LabelSet DestinationLabels { get; init; }

    /// <summary>Namespace of the source (<c>--src-namespace</c>).</summary>
    public string SourceNamespace { get; init; } = "default";

    /// <summary>Namespace of the destination (<c>--dst-namespace</c>).</summary>
    public string DestinationNamespace { get; init; } = "default";

    /// <summary>The port the rules are selected for (<c>--dport</c>); default: the upstream's port.</summary>
    public int? DestinationPort { get; init; }

    /// <summary>Flow buffer capacity.</summary>
    public int FlowBuffer { get; init; } = 4095;
}

/// <summary>
/// Membrane as a standalone policy-enforcing proxy (sidecar style: no root, no datapath): the Policy layer computes
/// the destination's ingress and the source's egress for the given labels, the proxy enforces the L7 rules of the
/// port (HTTP/1.1 and h2c told apart by their first bytes, or Kafka with broker addresses rewritten to the listen
/// address), and connections the L3/L4 part denies are closed at once and recorded. Flows go to <see cref="Flows"/>.
/// </summary>
public sealed class ExplicitProxyHost : IAsyncDisposable
{
    // The repository needs addresses to place the two endpoints; these never appear on the network (RFC 5737 TEST-NET-2).
    private static readonly IPAddress SourceAddress = IPAddress.Parse("198.51.100.1");
    private static readonly IPAddress DestinationAddress = IPAddress.Parse("198.51.100.2");

    private readonly ProxyServer _server;

    private ExplicitProxyHost(ProxyServer server, FlowObserver flows, ConnectionPolicy policy, ProxyListener listener, IPEndPoint upstream)
    {
        _server = server;
        Upstream = upstream;
        Flows = flows;
        Policy = policy;
        Listener = listener;
    }

    /// <summary>Flows of every request, response and denied connection.</summary>
    public FlowObserver Flows { get; }

    /// <summary>The policy every connection gets (identities, L4 verdict, L7 engine and rule sets).</summary>
    public ConnectionPolicy Policy { get; }

    /// <summary>The upstream server.</summary>
    public IPEndPoint Upstream { get; }

    /// <summary>The listener (its bound address: <see cref="ProxyListener.LocalEndPoint"/>).</summary>
    public ProxyListener Listener { get; }

    /// <summary>Computes the policy and starts listening.</summary>
    /// <exception cref="PolicyCompileException">The policies cannot be compiled for these endpoints.</exception>
    public static async Task<ExplicitProxyHost> StartAsync(ExplicitProxyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var port = (ushort)(options.DestinationPort ?? options.Upstream.Port);
        var repository = new PolicyRepository(new LocalIdentityAllocator(), new InMemoryIpCache());
        repository.ReplaceAll(options.Policies);
        repository.UpsertEndpoint(new EndpointInfo(1, PodName(options.SourceLabels, "client"), options.SourceNamespace, options.SourceLabels, SourceAddress, []));
        repository.UpsertEndpoint(new EndpointInfo(2, PodName(options.DestinationLabels, "server"), options.DestinationNamespace, options.DestinationLabels, DestinationAddress, []));
        var resolution = repository.ResolveConnection(SourceAddress, DestinationAddress, 6, port);
        var policy = new ConnectionPolicy
        {
            Revision = 1,
            Source = Peer(resolution.SourceEndpoint!),
            Destination = Peer(resolution.DestinationEndpoint!),
            DestinationPort = port,
            L4Allowed = resolution.L4Allowed,
            L4DecidedBy = resolution.L4DecidedBy,
            Protocol = resolution.Protocol,
            HttpEgress = resolution.HttpEgress,
            HttpIngress = resolution.HttpIngress,
            KafkaEgress = resolution.KafkaEgress,
            KafkaIngress = resolution.KafkaIngress,
        };

        var flows = new FlowObserver(options.FlowBuffer);
        var cache = new FlowPolicyCache();
        cache.Reset(1);
        var server = new ProxyServer(new StaticPolicySource(policy), new ProxyFlowSink(flows, cache, Environment.MachineName));
        server.RegisterEngine(Membrane.Policy.MapState.L7Protocol.Kafka, new KafkaEngine());
        try
        {
            var listener = await server.AddExplicitListenerAsync(options.Listen, options.Upstream, cancellationToken).ConfigureAwait(false);
            return new ExplicitProxyHost(server, flows, policy, listener, options.Upstream);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private static string PodName(LabelSet labels, string fallback) =>
        labels.TryGet("app", null, out var app) && app.Value.Length > 0 ? app.Value : fallback;

    private static PeerInfo Peer(EndpointPolicy endpoint) =>
        new(endpoint.Identity.Value, 0, endpoint.Endpoint.Namespace, endpoint.Endpoint.PodName, endpoint.Endpoint.IdentityLabels);

    private sealed class StaticPolicySource(ConnectionPolicy policy) : IProxyPolicySource
    {
        public long Revision => policy.Revision;

        public ConnectionPolicy Resolve(ConnectionInfo connection) => policy;
    }
}
