using System.Net;
using System.Runtime.InteropServices;
using Membrane.Datapath.Interop;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;

namespace Membrane.DatapathHarness;

/// <summary>
/// Map layout choice: the production policy lookup (per-endpoint hash, mask-guided probes) and ipcache lookup (/32
/// hash, LPM only on a miss) against LPM-trie equivalents holding the same entries, per packet with
/// BPF_PROG_TEST_RUN, against the empty program in the same round (bpf/policy_layouts.bpf.c).
/// </summary>
internal static class Layouts
{
    public static int Run(Arguments args)
    {
        var rounds = args.Int("rounds", 5, 20);
        var repeat = args.Int("repeat", 2_000_000, 50_000_000);
        var objectFile = BenchObject.Compile("policy_layouts");
        using var node = new TestNode();
        var packet = Packets.Tcp(TestNode.ClientAddress, 40000, TestNode.ServerAddress, 8080, Packets.Ack);
        var cases = new List<(string, string, Func<double>)>();
        var objects = new List<BpfObjectHandle>();
        try
        {
            foreach (var entries in args.Ints("entries", "100,10000"))
            {
                var datapath = node.OpenInstance($"l{entries}", 8080, 0);
                var filler = TestNode.Filler(entries);
                datapath.ReplacePolicy(TestNode.ClientId, filler.Select(f => TestNode.Entry(new PolicyKey(TrafficDirection.Ingress, f.Identity.Value, 6, 8080, 16))));
                foreach (var (address, identity) in filler)
                {
                    datapath.UpsertIpcache(new IPNetwork(address, 32), identity);
                }

                var obj = BenchObject.Load(objectFile, datapath);
                objects.Add(obj);
                using (var policyLpm = BpfMap.OpenPinned(Path.Combine(datapath.PinRoot, "bench_policy_lpm"), "bench_policy_lpm"))
                using (var ipcacheLpm = BpfMap.OpenPinned(Path.Combine(datapath.PinRoot, "bench_ipcache_lpm"), "bench_ipcache_lpm"))
                {
                    foreach (var (address, identity) in filler)
                    {
                        policyLpm.Update(new bench_policy_lpm_key { prefixlen = 64, identity = identity.Value, direction = 0, protocol = 6, dport = 0x901F }, default(policy_value));
                        ipcacheLpm.Update(new ipcache_prefix_key { prefixlen = 32, addr = Addr(address) }, new ipcache_value { identity = identity.Value });
                    }
                }

                var middle = filler[filler.Count / 2];
                foreach (var hit in (bool[])[true, false])
                {
                    var group = $"{entries} entries, {(hit ? "hit" : "miss")}";
                    var identity = hit ? middle.Identity.Value : 999_999u;
                    var address = hit ? Addr(middle.Address) : Addr(IPAddress.Parse("192.0.2.1"));
                    foreach (var (name, mark) in (ReadOnlySpan<(string, uint)>)[("empty", 0u), ("policy_hash", identity), ("policy_lpm", identity), ("ipcache_hash", address), ("ipcache_lpm", address)])
                    {
                        var fd = Libbpf.ProgramFd(obj, name);
                        var verdict = node.Thread.Run(() => Libbpf.TestRun(fd, packet, 1, node.ClientIfindex, mark).ReturnValue);
                        if (name != "empty" && (verdict == 0) != hit)
                        {
                            throw new InvalidOperationException($"{name} returned {verdict} for a {(hit ? "hit" : "miss")}");
                        }

                        cases.Add((Describe(name), group, () => node.Thread.Run(() => Libbpf.TestRun(fd, packet, repeat, node.ClientIfindex, mark).MeanNanoseconds)));
                    }
                }
            }

            var measurement = new Measurement("lookup", "empty program");
            measurement.Run(rounds, cases);
            measurement.Report(args.Get("out"));
            return 0;
        }
        finally
        {
            foreach (var obj in objects)
            {
                obj.Dispose();
            }

            File.Delete(objectFile);
        }
    }

    private static string Describe(string program) => program switch
    {
        "empty" => "empty program",
        "policy_hash" => "policy: hash + meta, mask-guided probes (production)",
        "policy_lpm" => "policy: LPM trie, 2 lookups",
        "ipcache_hash" => "ipcache: /32 hash, LPM on a miss (production)",
        _ => "ipcache: LPM trie only",
    };

    private static uint Addr(IPAddress address) => BitConverter.ToUInt32(address.GetAddressBytes());

    /// <summary>Mirror of <c>struct bench_policy_lpm_key</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct bench_policy_lpm_key
    {
        public uint prefixlen;
        public uint identity;
        public byte direction;
        public byte protocol;
        public ushort dport;
    }
}
