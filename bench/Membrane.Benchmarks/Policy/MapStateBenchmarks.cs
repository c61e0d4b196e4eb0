using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;

namespace Membrane.Benchmarks.Policy;

/// <summary>
/// Full map-state computation: 1,000 policies loaded at once (<see cref="PolicyRepository.ReplaceAll"/>: compile,
/// selector cache, every local endpoint's map state) into a repository that already knows 10,000 identities.
/// Baseline: loading an empty policy set into the same repository.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class MapStateComputationBenchmarks
{
    private IReadOnlyList<PolicyResource> _policies = [];
    private PolicyRepository _repository = null!;

    /// <summary>Number of local endpoints whose map state is computed.</summary>
    [Params(100, 1_000)]
    public int Endpoints { get; set; }

    /// <summary>Builds the policy set once.</summary>
    [GlobalSetup]
    public void Setup() => _policies = PolicyScale.PolicySet();

    /// <summary>A fresh repository with the identities and endpoints before each measured load.</summary>
    [IterationSetup]
    public void Fresh() => _repository = PolicyScale.Repository(Endpoints);

    /// <summary>Loading no policy (the work every load does regardless of the policies).</summary>
    [Benchmark(Baseline = true)]
    public int LoadNoPolicy() => _repository.ReplaceAll([]).Deltas.Count;

    /// <summary>Loading the 1,000 policies.</summary>
    [Benchmark]
    public int Load1000Policies() => _repository.ReplaceAll(_policies).Deltas.Count;
}

/// <summary>
/// Incremental update: one identity appears (and is removed again outside the measurement) while the 1,000 policies
/// are loaded over 10,000 identities and 1,000 endpoints. One invocation per iteration, so the percentile columns are
/// per-update latencies. Baseline: an identity no selector picks up.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 20, iterationCount: 400, invocationCount: 1)]
public class IdentityAddBenchmarks
{
    private PolicyRepository _repository = null!;
    private uint _next = 900_000;
    private uint _current;
    private int _i;

    /// <summary>Loads the policies once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _repository = PolicyScale.Repository(1_000);
        _repository.ReplaceAll(PolicyScale.PolicySet());
    }

    /// <summary>Picks the next identity number.</summary>
    [IterationSetup]
    public void Next() => _current = _next++;

    /// <summary>Removes the identity the iteration added.</summary>
    [IterationCleanup]
    public void Remove() => _repository.RemoveIdentity(new NumericIdentity(_current));

    /// <summary>An identity whose labels no selector matches.</summary>
    [Benchmark(Baseline = true)]
    public int AddUnselectedIdentity() =>
        _repository.UpsertIdentity(new NumericIdentity(_current), LabelSet.Parse("k8s:app=nobody,k8s:io.kubernetes.pod.namespace=elsewhere")).Deltas.Count;

    /// <summary>A pod identity like the 10,000 already there (selected by several policies' peers).</summary>
    [Benchmark]
    public int AddPodIdentity() =>
        _repository.UpsertIdentity(new NumericIdentity(_current), PolicyScale.IdentityLabels(_i++ * 37 % PolicyScale.Identities).With(new Label("k8s", "pod-generation", "x"))).Deltas.Count;
}
