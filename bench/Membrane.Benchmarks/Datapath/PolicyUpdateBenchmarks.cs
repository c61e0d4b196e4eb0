using System.Net;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Membrane.Datapath;
using Membrane.Datapath.Interop;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.Benchmarks.Datapath;

/// <summary>
/// Cost of policy updates through the atomic (double-buffered) path, each against a baseline in the same run that
/// writes the same entries straight into kernel maps without atomicity:
/// <list type="bullet">
/// <item>a delta for one new identity that touches 100 endpoints (one entry each, applied together);</item>
/// <item>a full load of 10,000 entries into an empty endpoint.</item>
/// </list>
/// Run as root: <c>dotnet run -c Release --project bench/Membrane.Benchmarks -- --filter *PolicyUpdate*</c>.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10, invocationCount: 1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PolicyUpdateBenchmarks
{
    private const int Endpoints = 100;
    private const int FullLoadEntries = 10_000;

    private BenchNode _node = null!;
    private EbpfDatapath _datapath = null!;
    private BpfMap _plainMap = null!;
    private List<KeyValuePair<PolicyKey, PolicyEntry>> _fullLoad = null!;
    private uint _newIdentity = 50_000;
    private ushort _loadEndpoint = 1000;

    [GlobalSetup]
    public void Setup()
    {
        _node = new BenchNode();
        _datapath = _node.OpenInstance("u", 8080, 0);
        var baseline = Enumerable.Range(0, 50).Select(i => BenchNode.Entry(new PolicyKey(TrafficDirection.Ingress, (uint)(2000 + i), 6, 8080, 16), PolicyVerdict.Allow)).ToList();
        for (ushort id = 100; id < 100 + Endpoints; id++)
        {
            // Endpoints that exist only in the maps (no interface): interface indexes above any real one.
            _datapath.AddDetachedEndpoint(id, 60000 + id, new(3000u + id), IPAddress.Parse($"10.252.{id / 250}.{(id % 250) + 1}"), baseline);
        }

        _fullLoad = Enumerable.Range(0, FullLoadEntries)
            .Select(i => BenchNode.Entry(new PolicyKey(TrafficDirection.Ingress, (uint)(20000 + i), 6, (ushort)(1000 + (i % 50)), 16), PolicyVerdict.Allow))
            .ToList();
        _plainMap = new BpfMap(Libbpf.CreateMap(Libbpf.BPF_MAP_TYPE_HASH, "bench_plain", 8, 8, 16384, Libbpf.BPF_F_NO_PREALLOC), "bench_plain");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plainMap.Dispose();
        _node.Dispose();
    }

    [IterationSetup(Targets = [nameof(FullLoad), nameof(FullLoadBaseline)])]
    public void NewEndpoint()
    {
        _loadEndpoint++;
        _datapath.AddDetachedEndpoint(_loadEndpoint, 50000 + _loadEndpoint, new(9000u + _loadEndpoint), IPAddress.Parse($"10.253.{_loadEndpoint / 250}.{(_loadEndpoint % 250) + 1}"), []);
        foreach (var key in _plainMap.Keys<ulong>())
        {
            _plainMap.Delete(key);
        }
    }

    [Benchmark(Description = "atomic: one ApplyPolicies call (one swap batch)")]
    [BenchmarkCategory("new identity on 100 endpoints")]
    public void NewIdentityOn100Endpoints()
    {
        var identity = _newIdentity++;
        var deltas = Enumerable.Range(100, Endpoints)
            .Select(id => new MapStateDelta((ushort)id, [BenchNode.Entry(new PolicyKey(TrafficDirection.Ingress, identity, 6, 8080, 16), PolicyVerdict.Allow)], []))
            .ToList();
        _datapath.ApplyPolicies(deltas);
    }

    [Benchmark(Description = "atomic: one ApplyPolicy call per endpoint")]
    [BenchmarkCategory("new identity on 100 endpoints")]
    public void NewIdentityOn100EndpointsOneByOne()
    {
        var identity = _newIdentity++;
        for (var id = 100; id < 100 + Endpoints; id++)
        {
            _datapath.ApplyPolicy(new MapStateDelta((ushort)id, [BenchNode.Entry(new PolicyKey(TrafficDirection.Ingress, identity, 6, 8080, 16), PolicyVerdict.Allow)], []));
        }
    }

    [Benchmark(Baseline = true, Description = "baseline: 100 plain map writes, not atomic")]
    [BenchmarkCategory("new identity on 100 endpoints")]
    public void NewIdentityBaseline()
    {
        var identity = _newIdentity++;
        for (var i = 0; i < Endpoints; i++)
        {
            _plainMap.Update((ulong)identity | ((ulong)i << 40), 1UL);
        }
    }

    [Benchmark(Description = "atomic: ReplacePolicy with 10,000 entries")]
    [BenchmarkCategory("full load of 10,000 entries")]
    public void FullLoad() => _datapath.ReplacePolicy(_loadEndpoint, _fullLoad);

    [Benchmark(Baseline = true, Description = "baseline: 10,000 plain map writes, not atomic")]
    [BenchmarkCategory("full load of 10,000 entries")]
    public void FullLoadBaseline()
    {
        for (var i = 0; i < FullLoadEntries; i++)
        {
            _plainMap.Update((ulong)i, 1UL);
        }
    }
}
