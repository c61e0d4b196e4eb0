using Membrane.Datapath;
using Membrane.Datapath.Interop;

namespace Membrane.DatapathHarness;

/// <summary>
/// Where the new-flow path's time goes (bpf/new_flow_costs.bpf.c): the production new-flow path cut after each of its
/// steps (cumulative stages, built from the same lib/ code), the production programs themselves, single operations
/// (one lookup, one conntrack create on several map flavours), and the production programs on a new tuple per run
/// with warm caches. Every case once per round in a rotated order, each against the empty program of the same round.
/// </summary>
internal static class NewFlowCosts
{
    private const ushort Port = 8080;

    private static readonly string[] s_fromStages =
    [
        "1 flow context, parse, config, endpoint, source check",
        "2 + clock, conntrack lookup of the tuple",
        "3 + ipcache lookup",
        "4 + egress policy decision",
        "5 + destination's redirect check (ipcache flag)",
        "6 + conntrack create (reopen in place, or insert)",
        "7 + forward accounting (= the new-flow path)",
    ];

    private static readonly string[] s_toStages =
    [
        "1 flow context, parse, config, endpoint",
        "2 + clock, proxy mark, conntrack lookup of the tuple",
        "3 + ipcache lookup",
        "4 + ingress policy decision",
        "5 + conntrack create (reopen in place, or insert)",
        "6 + forward accounting (= the new-flow path)",
    ];

    private static readonly (string Program, string Description, string? FreshMap)[] s_operations =
    [
        ("op_parse", "parse Ethernet + IPv4 + TCP", null),
        ("op_ipcache", "ipcache lookup (/32 hash hit)", null),
        ("op_policy", "policy decision, masks from the map's meta entry (global call, policy_maps, meta, 1 probe)", null),
        ("op_policy_own", "policy decision, masks from the endpoint's record (production for own decisions)", null),
        ("op_redirect_check", "redirect check (policy_maps + meta entry)", null),
        ("op_policy_keys_word", "policy_maps + meta + probe, keys written as one 64-bit store each (production)", null),
        ("op_policy_keys_fields", "policy_maps + meta + probe, keys written field by field", null),
        ("op_ct_lookup", "conntrack lookup (hit), key written as two 64-bit stores (production)", null),
        ("op_ct_lookup_fields", "conntrack lookup (hit), key written field by field", null),
        ("op_ct_reopen", "conntrack create of a tracked tuple: lookup + reopen in place (production)", null),
        ("op_ct_create_fresh", "conntrack create of a new tuple: lookup (miss) + insert (production)", "conntrack"),
        ("op_ct_replace", "map update of the same key every run (LRU, common lists; the previous create)", null),
        ("op_ct_insert", "map update with a new key every run (LRU, common lists)", "conntrack"),
        ("op_lru_common_replace", "LRU hash, common lists, same key", null),
        ("op_lru_common_insert", "LRU hash, common lists, new key", "bench_lru_common"),
        ("op_lru_percpu_replace", "LRU hash, per-CPU lists (BPF_F_NO_COMMON_LRU), same key", null),
        ("op_lru_percpu_insert", "LRU hash, per-CPU lists (BPF_F_NO_COMMON_LRU), new key", "bench_lru_percpu"),
        ("op_hash_replace", "hash (preallocated, no LRU), same key", null),
        ("op_hash_insert", "hash (preallocated, no LRU), new key", "bench_hash"),
    ];

    public static int Run(Arguments args)
    {
        var rounds = args.Int("rounds", 5, 20);
        var repeat = args.Int("repeat", 2_000_000, 50_000_000);
        var freshRepeat = args.Int("fresh-repeat", 20_000, 60_000);
        var objectFile = BenchObject.Compile("new_flow_costs");
        var wrapperObject = BenchObject.Compile("new_tuple_wrapper");
        var wrappers = new List<NewTupleWrapper>();
        using var node = new TestNode();
        var zero = new ConntrackTimeouts(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
        var syn = Packets.Tcp(TestNode.ClientAddress, 40000, TestNode.ServerAddress, Port, Packets.Syn);
        var cases = new List<(string, string, Func<double>)>();
        var objects = new List<BpfObjectHandle>();
        var maps = new List<BpfMap>();
        try
        {
            foreach (var entries in args.Ints("entries", "0"))
            {
                var datapath = node.OpenInstance($"c{entries}", Port, entries, zero, args.Get("objects"));
                var obj = BenchObject.Load(objectFile, datapath);
                objects.Add(obj);
                var empty = Libbpf.ProgramFd(obj, "empty");

                Func<double> Bench(int fd, int ifindex, int runs, Action? before = null)
                {
                    Expect(node.Thread.Run(() => Libbpf.TestRun(fd, syn, 1, ifindex, 0).ReturnValue), fd);
                    return () =>
                    {
                        before?.Invoke();
                        return node.Thread.Run(() => Libbpf.TestRun(fd, syn, runs, ifindex, 0).MeanNanoseconds);
                    };
                }

                var group = $"{entries} extra entries: from-container new flow";
                cases.Add(("empty program", group, Bench(empty, node.ClientIfindex, repeat)));
                for (var stage = 1; stage <= s_fromStages.Length; stage++)
                {
                    cases.Add((s_fromStages[stage - 1], group, Bench(Libbpf.ProgramFd(obj, $"from_stage_{stage}"), node.ClientIfindex, repeat)));
                }

                cases.Add(("production from_container", group, Bench(datapath.ProgramFd(true), node.ClientIfindex, repeat)));

                group = $"{entries} extra entries: to-container new flow";
                cases.Add(("empty program", group, Bench(empty, node.ServerIfindex, repeat)));
                for (var stage = 1; stage <= s_toStages.Length; stage++)
                {
                    cases.Add((s_toStages[stage - 1], group, Bench(Libbpf.ProgramFd(obj, $"to_stage_{stage}"), node.ServerIfindex, repeat)));
                }

                cases.Add(("production to_container", group, Bench(datapath.ProgramFd(false), node.ServerIfindex, repeat)));

                group = $"{entries} extra entries: operations";
                cases.Add(("empty program", group, Bench(empty, node.ClientIfindex, repeat)));
                var replace = Libbpf.ProgramFd(obj, "op_ct_replace");
                foreach (var (program, description, freshMap) in s_operations)
                {
                    var fd = Libbpf.ProgramFd(obj, program);
                    Action? before = null;
                    if (freshMap is not null)
                    {
                        var map = freshMap == "conntrack" ? datapath.Map("conntrack") : Pinned(datapath, freshMap, maps);
                        before = () => Clear(map);
                    }
                    else if (program is "op_ct_lookup" or "op_ct_lookup_fields")
                    {
                        // The entry it finds is the one op_ct_replace writes; the insert cases clear the map.
                        before = () => node.Thread.Run(() => Libbpf.TestRun(replace, syn, 1, node.ClientIfindex, 0));
                        before();
                    }

                    cases.Add((description, group, Bench(fd, node.ClientIfindex, freshMap is null ? repeat : freshRepeat, before: before)));
                }

                group = $"{entries} extra entries: new tuple per run (port rewritten, tail call)";
                var wrapper = new NewTupleWrapper(node, wrapperObject, datapath);
                wrappers.Add(wrapper);
                cases.Add(("empty program", group, wrapper.Measure(null, freshRepeat)));
                cases.Add(("production from_container", group, wrapper.Measure(true, freshRepeat)));
                cases.Add(("production to_container", group, wrapper.Measure(false, freshRepeat)));
            }

            var measurement = new Measurement("new-flow cost", "empty program");
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

            foreach (var map in maps)
            {
                map.Dispose();
            }

            foreach (var obj in objects)
            {
                obj.Dispose();
            }

            File.Delete(objectFile);
            File.Delete(wrapperObject);
        }
    }

    private static BpfMap Pinned(EbpfDatapath datapath, string name, List<BpfMap> opened)
    {
        var map = BpfMap.OpenPinned(Path.Combine(datapath.PinRoot, name), name);
        opened.Add(map);
        return map;
    }

    private static void Clear(BpfMap map)
    {
        foreach (var key in map.Keys<ct_key>())
        {
            map.Delete(key);
        }
    }

    private static void Expect(uint verdict, int fd)
    {
        if (verdict != 0)
        {
            throw new InvalidOperationException($"setup: program fd {fd} returned {verdict} instead of TC_ACT_OK: it does not take the path it measures");
        }
    }
}
