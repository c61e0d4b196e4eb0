using Membrane.Datapath;
using Membrane.Datapath.Interop;

namespace Membrane.DatapathHarness;

/// <summary>
/// The production programs of an instance on a new connection tuple per run, with warm caches
/// (bpf/new_tuple_wrapper.bpf.c): the wrapper rewrites the SYN's source port from a counter and tail-calls the
/// program; the wrapper in front of the empty program is the baseline. The instance's conntrack map is emptied before
/// every measurement so each run inserts a genuinely new entry (runs per measurement stay below its capacity).
/// </summary>
internal sealed class NewTupleWrapper : IDisposable
{
    private const uint TargetFromContainer = 0;
    private const uint TargetToContainer = 1;
    private const uint TargetEmpty = 2;

    private readonly TestNode _node;
    private readonly BpfObjectHandle _object;
    private readonly BpfMap _conntrack;
    private readonly int _wrapper;

    public NewTupleWrapper(TestNode node, string objectFile, EbpfDatapath datapath)
    {
        _node = node;
        _object = BenchObject.Load(objectFile, datapath, productionMaps: false);
        _conntrack = datapath.Map("conntrack");
        _wrapper = Libbpf.ProgramFd(_object, "fresh");
        using var targets = BpfMap.OpenPinned(Path.Combine(datapath.PinRoot, "bench_targets"), "bench_targets");
        targets.Update(TargetFromContainer, datapath.ProgramFd(fromContainer: true));
        targets.Update(TargetToContainer, datapath.ProgramFd(fromContainer: false));
        targets.Update(TargetEmpty, Libbpf.ProgramFd(_object, "empty"));
    }

    /// <summary>Mean ns per run of the wrapper in front of from_container (true), to_container (false) or the empty
    /// program (null) on <paramref name="runs"/> SYNs from the client to the server, each on a new tuple.</summary>
    public Func<double> Measure(bool? fromContainer, int runs)
    {
        var syn = Packets.Tcp(TestNode.ClientAddress, 1, TestNode.ServerAddress, 8080, Packets.Syn);
        var ifindex = fromContainer == false ? _node.ServerIfindex : _node.ClientIfindex;
        var target = fromContainer switch { true => TargetFromContainer, false => TargetToContainer, null => TargetEmpty };
        var verdict = _node.Thread.Run(() => Libbpf.TestRun(_wrapper, syn, 1, ifindex, target).ReturnValue);
        if (verdict != 0)
        {
            throw new InvalidOperationException($"setup: the new-tuple wrapper (target {target}) returned {verdict} instead of TC_ACT_OK");
        }

        return () =>
        {
            foreach (var key in _conntrack.Keys<ct_key>())
            {
                _conntrack.Delete(key);
            }

            return _node.Thread.Run(() => Libbpf.TestRun(_wrapper, syn, runs, ifindex, target).MeanNanoseconds);
        };
    }

    public void Dispose() => _object.Dispose();
}
