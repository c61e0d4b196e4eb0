using System.Net;
using Membrane.Datapath.Events;
using Membrane.Datapath.KernelTests.Support;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Xunit.Abstractions;
using static Membrane.Datapath.KernelTests.Support.Entries;

namespace Membrane.Datapath.KernelTests.Maps;

/// <summary>
/// The allow/deny matrix: identities, exact ports, port ranges (prefix blocks), TCP/UDP/ICMP, wildcard identity and
/// protocol, deny precedence (same and wildcard identity) and default deny per direction, with real sockets between
/// pod namespaces. For every case the reference lookup of contracts.md decides the expected outcome and drop
/// reason, and the kernel must agree (packets reach the peer's stack, or are dropped with that reason).
/// </summary>
public sealed class PolicyMatrixTests(ITestOutputHelper output)
{
    private static readonly PolicyRef AllowPolicy = new("CiliumNetworkPolicy", "default", "allow-rules");
    private static readonly PolicyRef DenyPolicy = new("CiliumNetworkPolicy", "default", "deny-rules");

    [Fact]
    public async Task Kernel_verdicts_match_the_reference_lookup_for_every_case()
    {
        using var lab = Lab.Create([("a", 1001), ("b", 1002), ("c", 1003)]);
        var (a, b, c) = (lab["a"], lab["b"], lab["c"]);

        var policies = new Dictionary<Pod, Dictionary<PolicyKey, PolicyEntry>>
        {
            // b: ingress enforced, egress not.
            [b] = new()
            {
                [In(a.Identity, Tcp, 8080)] = Allow(AllowPolicy),
                [In(a.Identity, Tcp, 9000, prefix: 13)] = Allow(AllowPolicy),      // 9000-9007
                [In(0, Tcp, 9443)] = Allow(AllowPolicy),                            // any identity
                [In(0, Udp, 5353)] = Allow(AllowPolicy),
                [In(a.Identity, Icmp, 8)] = Allow(AllowPolicy),                     // echo request
                [In(c.Identity)] = Deny(DenyPolicy),                                // L3 deny beats the wildcard allows
                [In(0, Tcp, 6000, prefix: 8)] = Allow(AllowPolicy),                 // 5888-6143 for anyone ...
                [In(a.Identity, Tcp, 6100, prefix: 14)] = Deny(DenyPolicy),         // ... but 6100-6103 denied for a
                [new PolicyKey(TrafficDirection.Egress, 0, 0, 0, 0)] = Allow(),
            },
            // a: egress enforced, ingress not.
            [a] = new()
            {
                [Out(b.Identity)] = Allow(AllowPolicy),                             // L3 allow to b ...
                [Out(0, Tcp, 9005)] = Deny(DenyPolicy),                             // ... wildcard-identity deny wins
                [Out(c.Identity, Tcp, 7000)] = Allow(AllowPolicy),
                [Out(c.Identity, Udp, 0, prefix: 0)] = Allow(AllowPolicy),          // all UDP ports to c (prefix 0)
                [new PolicyKey(TrafficDirection.Ingress, 0, 0, 0, 0)] = Allow(),
            },
            // c: ingress enforced, egress not.
            [c] = new()
            {
                [In(a.Identity, Tcp, 7000)] = Allow(AllowPolicy),
                [In(a.Identity, Udp, 4000, prefix: 15)] = Allow(AllowPolicy),       // 4000-4001
                [new PolicyKey(TrafficDirection.Egress, 0, 0, 0, 0)] = Allow(),
            },
        };
        foreach (var (pod, map) in policies)
        {
            lab.Datapath.ReplacePolicy(pod.EndpointId, map);
        }

        using var events = new EventLog(lab.Datapath);
        var cases = new List<Case>
        {
            new(a, b, Tcp, 8080), new(a, b, Tcp, 8081), new(a, b, Tcp, 9000), new(a, b, Tcp, 9007), new(a, b, Tcp, 9008),
            new(a, b, Tcp, 9005), new(a, b, Tcp, 9443), new(a, b, Udp, 5353), new(a, b, Udp, 5354), new(a, b, Icmp, 8),
            new(a, b, Tcp, 5999), new(a, b, Tcp, 6101), new(a, b, Tcp, 6104),
            new(c, b, Tcp, 9443), new(c, b, Udp, 5353), new(c, b, Icmp, 8), new(c, b, Tcp, 6000),
            new(a, c, Tcp, 7000), new(a, c, Tcp, 7001), new(a, c, Udp, 4001), new(a, c, Udp, 4002), new(a, c, Icmp, 8),
            new(b, a, Tcp, 8080), new(b, a, Icmp, 8), new(b, c, Tcp, 7000), new(c, a, Udp, 53), new(c, a, Icmp, 8),
        };

        var observed = await Task.WhenAll(cases.Select(k => Probe(k)));
        await Task.Delay(300); // let the last drop events arrive
        var failures = new List<string>();
        foreach (var (k, reach) in cases.Zip(observed))
        {
            var expected = Expect(policies, k);
            var drop = events.Drops(k.From.Address, k.To.Address, k.Protocol)
                .FirstOrDefault(e => k.Protocol == Icmp ? e.IcmpType == k.Port : e.DestinationPort == k.Port);
            var passed = reach != Reach.Dropped;
            var line = $"{k}: reference {(expected.Passes ? "allow" : $"drop {(int)expected.Reason}")}, kernel {reach}{(drop is null ? "" : $" (drop {(int)drop.DropReason} at {drop.InterfaceName})")}";
            output.WriteLine(line);
            if (passed != expected.Passes || (!expected.Passes && drop?.DropReason != expected.Reason))
            {
                failures.Add(line);
            }
        }

        Assert.True(cases.Count(k => Expect(policies, k).Passes) >= 8, "the matrix must exercise allowed paths too");
        Assert.Empty(failures);
    }

    private static Task<Reach> Probe(Case k) => k.Protocol switch
    {
        Tcp => Sockets.ProbeTcp(k.From, k.To.Address, k.Port, Sockets.DeniedTimeout),
        Udp => Sockets.ProbeUdp(k.From, k.To.Address, k.Port, Sockets.DeniedTimeout),
        _ => Sockets.PingWorks(k.From, k.To.Address, Sockets.DeniedTimeout).ContinueWith(t => t.Result ? Reach.Connected : Reach.Dropped),
    };

    /// <summary>The sender's egress must pass, then the receiver's ingress (both are local endpoints).</summary>
    private static LookupResult Expect(Dictionary<Pod, Dictionary<PolicyKey, PolicyEntry>> policies, Case k)
    {
        var egress = ReferenceLookup.Evaluate(policies[k.From], TrafficDirection.Egress, k.To.Identity.Value, k.Protocol, k.Port);
        return egress.Passes ? ReferenceLookup.Evaluate(policies[k.To], TrafficDirection.Ingress, k.From.Identity.Value, k.Protocol, k.Port) : egress;
    }

    private sealed record Case(Pod From, Pod To, byte Protocol, ushort Port)
    {
        public override string ToString() => $"{From.Name}->{To.Name} {(Protocol switch { Tcp => "tcp", Udp => "udp", _ => "icmp type" })} {Port}";
    }
}
