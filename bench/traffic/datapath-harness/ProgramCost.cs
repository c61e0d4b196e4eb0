using Membrane.Datapath;
using Membrane.Datapath.Interop;

namespace Membrane.DatapathHarness;

/// <summary>
/// Per-packet cost of from-container and to-container with BPF_PROG_TEST_RUN against the empty program, for the
/// established (conntrack hit) paths and the new-flow paths. New flows run on an instance whose conntrack lifetimes
/// are zero: every run finds its flow's entry expired and takes the whole new-flow path (ipcache, egress policy, the
/// local destination's ingress policy, conntrack create). A second measurement of the new flow uses a fresh tuple per
/// run (repeat 1, each against the empty program run the same way) as a cross-check of that method.
/// </summary>
internal static class ProgramCost
{
    private const ushort Port = 8080;

    public static int Run(Arguments args)
    {
        var rounds = args.Int("rounds", 5, 20);
        var repeat = args.Int("repeat", 2_000_000, 50_000_000);
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
            var established = node.OpenInstance($"e{entries}", Port, entries, objects: args.Get("objects"));
            var fresh = node.OpenInstance($"n{entries}", Port, entries, zero, args.Get("objects"));

            // Open the connection: SYN out and in, SYN-ACK back: both hooks hold entries.
            Expect(Verdict(node, established, true, syn, node.ClientIfindex), 0, "SYN from the client");
            Expect(Verdict(node, established, false, syn, node.ServerIfindex), 0, "SYN to the server");
            Expect(Verdict(node, established, true, synAck, node.ServerIfindex), 0, "SYN-ACK from the server");
            Expect(Verdict(node, established, false, synAck, node.ClientIfindex), 0, "SYN-ACK to the client");
            Expect(Verdict(node, fresh, true, syn, node.ClientIfindex), 0, "new-flow SYN");
            Expect(Verdict(node, fresh, true, denied, node.ClientIfindex), 2, "denied SYN");

            cases.Add(("empty program", group, () => node.Thread.Run(() => Libbpf.TestRun(empty.Fd, ack, repeat, node.ClientIfindex, 0).MeanNanoseconds)));
            cases.Add(("from-container, established", group, () => Run(node, established, true, ack, node.ClientIfindex, repeat)));
            cases.Add(("from-container, reply", group, () => Run(node, established, true, reply, node.ServerIfindex, repeat)));
            cases.Add(("to-container, established", group, () => Run(node, established, false, ack, node.ServerIfindex, repeat)));
            cases.Add(("to-container, reply", group, () => Run(node, established, false, reply, node.ClientIfindex, repeat)));
            cases.Add(("from-container, new flow (local destination)", group, () => Run(node, fresh, true, syn, node.ClientIfindex, repeat)));
            cases.Add(("to-container, new flow", group, () => Run(node, fresh, false, syn, node.ServerIfindex, repeat)));
            cases.Add(("from-container, denied (drop + event)", group, () => Run(node, fresh, true, denied, node.ClientIfindex, repeat)));
            cases.Add(("from-container, new flow, fresh tuple per run", group, () => FreshTuples(node, fresh, empty, repeat / 100)));
        }

        var measurement = new Measurement("datapath program", "empty program");
        measurement.Run(rounds, cases);
        measurement.Report(args.Get("out"));
        return 0;
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
