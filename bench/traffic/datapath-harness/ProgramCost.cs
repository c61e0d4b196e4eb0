using Membrane.Datapath;
using Membrane.Datapath.Interop;

namespace Membrane.DatapathHarness;

/// <summary>
/// Per-packet cost of from-container and to-container with BPF_PROG_TEST_RUN against the empty program measured in
/// the same round, for the established (conntrack hit) and reply paths and for a connection's first packet, the SYN,
/// in three situations:
/// <list type="bullet">
/// <item>its tuple is still tracked (a retransmitted SYN, or a tuple reused while the previous connection's entry
/// lingers): the same SYN run 2,000,000 times on an instance whose conntrack lifetimes are zero, so every run finds
/// the entry it left expired, decides the flow as new and reopens that entry. This is the method the figures before
/// this suite's new-tuple rows used;</item>
/// <item>its tuple is new, caches warm: <see cref="NewTupleWrapper"/> gives every run a new source port, so every
/// run inserts a new conntrack entry (the cost of a new connection in a busy node);</item>
/// <item>its tuple is new, caches cold: single runs on distinct SYNs (the cost after the node did other work).</item>
/// </list>
/// <c>--baseline-commit REV</c> adds every case for the programs of another commit (compiled from its bpf/), measured
/// in the same rounds: before/after ratios without a second run.
/// </summary>
internal static class ProgramCost
{
    private const ushort Port = 8080;

    public static int Run(Arguments args)
    {
        var rounds = args.Int("rounds", 5, 20);
        var repeat = args.Int("repeat", 2_000_000, 50_000_000);
        var freshRepeat = args.Int("fresh-repeat", 20_000, 60_000);
        var builds = new List<(string Label, string? Objects)> { ("", args.Get("objects")) };
        var baseline = args.Get("baseline-commit");
        var baselineObjects = baseline is null ? null : BenchObject.CompileCommit(baseline);
        if (baselineObjects is not null)
        {
            builds.Add(($" [{baseline}]", baselineObjects));
        }

        var wrapperObject = BenchObject.Compile("new_tuple_wrapper");
        var wrappers = new List<NewTupleWrapper>();
        try
        {
            using var node = new TestNode();
            using var empty = Libbpf.LoadEmptyClassifier();
            var zero = new ConntrackTimeouts(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
            var syn = Packets.Tcp(TestNode.ClientAddress, 40000, TestNode.ServerAddress, Port, Packets.Syn);
            var ack = Packets.Tcp(TestNode.ClientAddress, 40000, TestNode.ServerAddress, Port, Packets.Ack);
            var reply = Packets.Tcp(TestNode.ServerAddress, Port, TestNode.ClientAddress, 40000, Packets.Ack);
            var synAck = Packets.Tcp(TestNode.ServerAddress, Port, TestNode.ClientAddress, 40000, Packets.SynAck);
            var denied = Packets.Tcp(TestNode.ClientAddress, 40001, TestNode.ServerAddress, Port + 1, Packets.Syn);

            var cases = new List<(string, string, Func<double>)>();
            foreach (var entries in args.Ints("entries", "0,10000"))
            {
                var group = $"{entries} extra entries";
                var newTuples = $"{entries} extra entries, new tuple per run";
                var perBuild = new List<List<(string, string, Func<double>)>>();
                for (var b = 0; b < builds.Count; b++)
                {
                    var (label, objects) = builds[b];
                    var established = node.OpenInstance($"e{entries}b{b}", Port, entries, objects: objects);
                    var fresh = node.OpenInstance($"n{entries}b{b}", Port, entries, zero, objects);

                    // Open the connection: SYN out and in, SYN-ACK back: both hooks hold entries.
                    Expect(Verdict(node, established, true, syn, node.ClientIfindex), 0, "SYN from the client");
                    Expect(Verdict(node, established, false, syn, node.ServerIfindex), 0, "SYN to the server");
                    Expect(Verdict(node, established, true, synAck, node.ServerIfindex), 0, "SYN-ACK from the server");
                    Expect(Verdict(node, established, false, synAck, node.ClientIfindex), 0, "SYN-ACK to the client");
                    Expect(Verdict(node, fresh, true, syn, node.ClientIfindex), 0, "new-flow SYN");
                    Expect(Verdict(node, fresh, false, syn, node.ServerIfindex), 0, "new-flow SYN to the server");
                    Expect(Verdict(node, fresh, true, denied, node.ClientIfindex), 2, "denied SYN");
                    var wrapper = new NewTupleWrapper(node, wrapperObject, fresh);
                    wrappers.Add(wrapper);

                    perBuild.Add(
                    [
                        ($"from-container, established{label}", group, () => Run(node, established, true, ack, node.ClientIfindex, repeat)),
                        ($"from-container, reply{label}", group, () => Run(node, established, true, reply, node.ServerIfindex, repeat)),
                        ($"to-container, established{label}", group, () => Run(node, established, false, ack, node.ServerIfindex, repeat)),
                        ($"to-container, reply{label}", group, () => Run(node, established, false, reply, node.ClientIfindex, repeat)),
                        ($"from-container, SYN, tuple still tracked{label}", group, () => Run(node, fresh, true, syn, node.ClientIfindex, repeat)),
                        ($"to-container, SYN, tuple still tracked{label}", group, () => Run(node, fresh, false, syn, node.ServerIfindex, repeat)),
                        ($"from-container, denied (drop + event){label}", group, () => Run(node, fresh, true, denied, node.ClientIfindex, repeat)),
                        ($"from-container, SYN, new tuple, cold (single runs){label}", group, () => FreshTuples(node, fresh, empty, repeat / 100)),
                        ($"from-container, SYN, new tuple, warm{label}", newTuples, wrapper.Measure(true, freshRepeat)),
                        ($"to-container, SYN, new tuple, warm{label}", newTuples, wrapper.Measure(false, freshRepeat)),
                    ]);
                    if (b == 0)
                    {
                        cases.Add(("empty program", group, () => node.Thread.Run(() => Libbpf.TestRun(empty.Fd, ack, repeat, node.ClientIfindex, 0).MeanNanoseconds)));
                        cases.Add(("empty program", newTuples, wrapper.Measure(null, freshRepeat)));
                    }
                }

                // Each case of every build back to back, so that a ratio between builds compares neighbours in time.
                for (var i = 0; i < perBuild[0].Count; i++)
                {
                    cases.AddRange(perBuild.Select(b => b[i]));
                }
            }

            var measurement = new Measurement("datapath program", "empty program");
            measurement.Run(rounds, cases);
            measurement.Report(args.Get("out"));
            return 0;
        }
        finally
        {
            foreach (var wrapper in wrappers)
            {
                wrapper.Dispose();
            }

            File.Delete(wrapperObject);
            if (baselineObjects is not null)
            {
                Directory.Delete(baselineObjects, recursive: true);
            }
        }
    }

    private static double Run(TestNode node, EbpfDatapath datapath, bool fromContainer, byte[] packet, int ifindex, int repeat) =>
        node.Thread.Run(() => datapath.TestRun(fromContainer, packet, repeat, ifindex).MeanNanoseconds);

    private static uint Verdict(TestNode node, EbpfDatapath datapath, bool fromContainer, byte[] packet, int ifindex) =>
        node.Thread.Run(() => datapath.TestRun(fromContainer, packet, 1, ifindex).ReturnValue);

    /// <summary>Mean kernel duration of single runs on distinct SYNs, plus the empty program's single-run duration
    /// (added back so the summary's difference to the empty baseline stays comparable).</summary>
    private static double FreshTuples(TestNode node, EbpfDatapath datapath, BpfFileDescriptor empty, int count) => node.Thread.Run(() =>
    {
        double program = 0, baseline = 0;
        for (var i = 0; i < count; i++)
        {
            var syn = Packets.Tcp(TestNode.ClientAddress, (ushort)(20000 + (i % 40000)), TestNode.ServerAddress, Port, Packets.Syn);
            syn[18] = (byte)(i >> 8); // vary the IP id too; the tuple is what matters
            program += datapath.TestRun(true, syn, 1, node.ClientIfindex).MeanNanoseconds;
            baseline += Libbpf.TestRun(empty.Fd, syn, 1, node.ClientIfindex, 0).MeanNanoseconds;
        }

        var emptyRepeated = Libbpf.TestRun(empty.Fd, Packets.Tcp(TestNode.ClientAddress, 1, TestNode.ServerAddress, Port, Packets.Ack), 1_000_000, node.ClientIfindex, 0).MeanNanoseconds;
        return ((program - baseline) / count) + emptyRepeated;
    });

    private static void Expect(uint actual, uint expected, string what)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"setup: {what} returned {actual}, expected {expected}");
        }
    }
}
