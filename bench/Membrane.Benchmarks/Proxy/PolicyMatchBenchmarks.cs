using System.Net;
using BenchmarkDotNet.Attributes;
using Membrane.Policy.L7.Http;
using Membrane.Proxy.Http;
using Microsoft.AspNetCore.Http;

namespace Membrane.Benchmarks.Proxy;

/// <summary>
/// The per-request decision of the proxy: identity lookup of the peer (an ipcache-sized dictionary of 10,000
/// addresses), path normalization of the raw target, and both rule sets evaluated as the proxy does (seed rules),
/// against the bare rule evaluation (baseline, same run). Bar: the full decision ≤ 1 µs, 0 B.
/// </summary>
[MemoryDiagnoser]
public class PolicyMatchBenchmarks
{
    private readonly Dictionary<IPAddress, uint> _ipcache = [];
    private readonly char[] _target = new char[8192];
    private Membrane.Proxy.ConnectionPolicy _policy = null!;
    private HttpRuleSet _rules = null!;
    private IHeaderDictionary _headers = null!;
    private IPAddress _peer = null!;

    /// <summary>Raw request target.</summary>
    [Params("/api/v1/users/42", "/api/v1/users/%2e%2e/orders/../42?x=1")]
    public string Target { get; set; } = "";

    /// <summary>Builds the ipcache, the rules and a request's headers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < 10_000; i++)
        {
            _ipcache[new IPAddress([10, 244, (byte)(i >> 8), (byte)i])] = (uint)(256 + i);
        }

        _peer = new IPAddress([10, 244, 7, 7]);
        _rules = HttpRuleSet.Compile([
            (new HttpRule(Method: "GET", Path: "/api/v1/users/?.*"), BenchPolicy.Origin),
            (new HttpRule(Method: "POST", Path: "/api/v1/payments"), BenchPolicy.Origin),
        ]);
        _policy = new BenchPolicy(_rules).Resolve(new Membrane.Proxy.ConnectionInfo(new IPEndPoint(_peer, 40000), new IPEndPoint(IPAddress.Loopback, 80), Membrane.Proxy.ProxyMode.Explicit, 15080));
        _headers = new HeaderDictionary { ["Host"] = "users", ["User-Agent"] = "curl/7.88.1", ["Accept"] = "*/*", ["X-Request-Source"] = "frontend-app" };
    }

    /// <summary>Rule evaluation alone on a ready path.</summary>
    [Benchmark(Baseline = true)]
    public bool RulesOnly()
    {
        var view = new HeaderView(_headers);
        return _rules.Evaluate("GET", "/api/v1/users/42", "users", ref view).Allowed;
    }

    /// <summary>What the proxy does per request: identity lookup, normalization, both directions' rules.</summary>
    [Benchmark]
    public bool FullDecision()
    {
        var identity = _ipcache[_peer];
        PathNormalizer.Normalize(Target, _target, out var n);
        var decision = RequestGate.Decide(_policy, "GET", _target.AsSpan(0, n), "users", _headers, null);
        return decision.Allowed && identity != 0;
    }

    private readonly struct HeaderView(IHeaderDictionary headers) : IHttpHeaderView
    {
        public int Count(string name) => headers.TryGetValue(name, out var v) ? v.Count : 0;

        public ReadOnlySpan<char> Value(string name, int index) => headers[name][index].AsSpan();
    }
}
