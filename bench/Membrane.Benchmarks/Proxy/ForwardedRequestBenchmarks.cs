using System.Net;
using BenchmarkDotNet.Attributes;
using Membrane.Policy.L7.Http;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Proxy;

namespace Membrane.Benchmarks.Proxy;

/// <summary>
/// One real request through the proxy on loopback (keep-alive client → explicit listener → allocation-free origin),
/// against the same client talking to the origin directly (baseline, same run). MemoryDiagnoser's figure is
/// process-wide, and the client and origin allocate nothing per request, so Allocated is the proxy's bytes per
/// forwarded (or denied) request. Time per op here is latency on a loaded 2-vCPU VM, not CPU cost: the CPU cost comes
/// from bench/traffic/http1-proxy.sh.
/// </summary>
[MemoryDiagnoser]
public class ForwardedRequestBenchmarks
{
    private FixedOrigin _origin = null!;
    private ProxyServer _proxy = null!;
    private FixedClient _direct = null!;
    private FixedClient _allowed = null!;
    private FixedClient _denied = null!;

    /// <summary>Starts the origin, the proxy and three keep-alive clients.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _origin = new FixedOrigin();
        var rules = HttpRuleSet.Compile([(new HttpRule(Method: "GET", Path: "/api/v1/users(/.*)?"), BenchPolicy.Origin)]);
        _proxy = new ProxyServer(new BenchPolicy(rules), new CountingSink());
        var listener = _proxy.AddExplicitListenerAsync(new IPEndPoint(IPAddress.Loopback, 0), _origin.EndPoint).GetAwaiter().GetResult();
        _direct = new FixedClient(_origin.EndPoint, "/api/v1/users/42");
        _allowed = new FixedClient(listener.LocalEndPoint, "/api/v1/users/42");
        _denied = new FixedClient(listener.LocalEndPoint, "/api/v1/orders/1");
    }

    /// <summary>Stops everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _direct.Dispose();
        _allowed.Dispose();
        _denied.Dispose();
        _proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _origin.Dispose();
    }

    /// <summary>Client to origin, no proxy.</summary>
    [Benchmark(Baseline = true)]
    public int Direct() => _direct.RoundTrip();

    /// <summary>Allowed: parsed, checked, forwarded, response relayed, two events.</summary>
    [Benchmark]
    public int ProxiedAllowed() => _allowed.RoundTrip();

    /// <summary>Denied: answered 403 by the proxy, connection kept.</summary>
    [Benchmark]
    public int ProxiedDenied() => _denied.RoundTrip();
}

/// <summary>One identity pair, the benchmark rules as ingress.</summary>
internal sealed class BenchPolicy(HttpRuleSet rules) : IProxyPolicySource
{
    public static readonly PolicyRef Origin = new("CiliumNetworkPolicy", "default", "user-service-api-policy");
    private static readonly PeerInfo Frontend = new(1001, 1, "default", "frontend", LabelSet.Parse("app=frontend"));
    private static readonly PeerInfo Users = new(1002, 2, "default", "users", LabelSet.Parse("app=users"));

    public long Revision => 1;

    public ConnectionPolicy Resolve(ConnectionInfo connection) => new()
    {
        Revision = 1,
        Source = Frontend,
        Destination = Users,
        DestinationPort = connection.OriginalDestination.Port,
        L4Allowed = true,
        L4DecidedBy = [Origin],
        Protocol = L7Protocol.Http,
        HttpIngress = rules,
    };
}

/// <summary>Flows on, as in production: counts events.</summary>
internal sealed class CountingSink : IL7EventSink
{
    private long _count;

    public void Publish(in L7Event e) => Interlocked.Increment(ref _count);
}
