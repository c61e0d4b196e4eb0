using Membrane.Datapath.Interop;

namespace Membrane.DatapathHarness;

/// <summary>
/// Ad-hoc measurement of any benchmark object: compiles a <c>.bpf.c</c> file against the production headers, loads it
/// on a test instance's maps (the client may open TCP 8080 to the server; a from-container SYN packet on the
/// client's interface), and measures the listed programs against the object's <c>empty</c> program, rounds rotated.
/// Programs listed in <c>--fresh</c> run <c>--fresh-repeat</c> times after the conntrack map was emptied (they insert
/// a new key per run). For experiments before a change is made; the committed suites are prog-cost and new-flow-costs.
/// </summary>
internal static class ObjectRun
{
    public static int Run(Arguments args)
    {
        var rounds = args.Int("rounds", 5, 20);
        var repeat = args.Int("repeat", 2_000_000, 50_000_000);
        var freshRepeat = args.Int("fresh-repeat", 20_000, 60_000);
        var source = Path.GetFullPath(args.Require("source"));
        var programs = args.Require("programs").Split(',');
        var fresh = (args.Get("fresh") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var objectFile = BenchObject.CompileFile(source);
        using var node = new TestNode();
        var datapath = node.OpenInstance("x", 8080, args.Int("entries", 0, 100_000));
        var syn = Packets.Tcp(TestNode.ClientAddress, 40000, TestNode.ServerAddress, 8080, Packets.Syn);
        using var obj = BenchObject.Load(objectFile, datapath);
        var conntrack = datapath.Map("conntrack");
        var cases = new List<(string, string, Func<double>)>();
        foreach (var name in programs.Prepend("empty"))
        {
            var fd = Libbpf.ProgramFd(obj, name);
            var runs = fresh.Contains(name) ? freshRepeat : repeat;
            var verdict = node.Thread.Run(() => Libbpf.TestRun(fd, syn, 1, node.ClientIfindex, 0).ReturnValue);
            Console.Error.WriteLine($"{name}: verdict {verdict}");
            cases.Add((name == "empty" ? "empty program" : name, "programs", () =>
            {
                if (fresh.Contains(name))
                {
                    foreach (var key in conntrack.Keys<ct_key>())
                    {
                        conntrack.Delete(key);
                    }
                }

                return node.Thread.Run(() => Libbpf.TestRun(fd, syn, runs, node.ClientIfindex, 0).MeanNanoseconds);
            }));
        }

        var measurement = new Measurement(Path.GetFileName(source), "empty program");
        measurement.Run(rounds, cases);
        measurement.Report(args.Get("out"));
        File.Delete(objectFile);
        return 0;
    }
}
