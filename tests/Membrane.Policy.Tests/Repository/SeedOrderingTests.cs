using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Tests.Builders;

namespace Membrane.Policy.Tests.Repository;

/// <summary>Every ordering of the seed policies, and of their rules, gives the same map state and L7 rule sets.</summary>
public sealed class SeedOrderingTests
{
    private static readonly (ushort Id, string Ns, string Labels)[] Pods =
    [
        (1, "default", "app=frontend"), (2, "default", "app=users"), (3, "default", "app=billing"), (4, "default", "app=reco"),
        (5, "default", "app=catalog"), (6, "default", "app=inventory"), (7, "kafka", "app=orders"), (8, "kafka", "app=shipping"),
        (9, "kafka", "app=kafka-broker"),
    ];

    private static List<string> Snapshot(IEnumerable<PolicyResource> policies)
    {
        var t = new TestRepository();
        foreach (var (id, ns, labels) in Pods)
        {
            t.Add(id, ns, labels);
        }

        t.Repository.ReplaceAll(policies);
        var lines = new List<string>();
        foreach (var (id, _, _) in Pods)
        {
            var ep = t.Policy(id);
            foreach (var e in ep.Entries)
            {
                lines.Add($"{id} {t.Render(e)} [{string.Join(',', e.Value.DerivedFrom)}]");
                if (e.Value.Verdict == Membrane.Policy.MapState.PolicyVerdict.Redirect)
                {
                    var peer = new Membrane.Policy.Identity.NumericIdentity(e.Key.Identity);
                    var http = ep.GetHttpRules(e.Key.Direction, peer, e.Key.Protocol, e.Key.Port);
                    var kafka = ep.GetKafkaRules(e.Key.Direction, peer, e.Key.Protocol, e.Key.Port);
                    lines.Add($"  http {string.Join(" | ", http?.Rules.Select(r => $"{r.Rule} {r.Origin}") ?? [])} kafka {kafka?.Count} {string.Join(',', kafka?.Policies ?? [])}");
                }
            }
        }

        return lines;
    }

    private static IEnumerable<List<T>> Permutations<T>(List<T> items)
    {
        if (items.Count <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var rest = items.Where((_, j) => j != i).ToList();
            foreach (var p in Permutations(rest))
            {
                yield return [items[i], .. p];
            }
        }
    }

    [Fact]
    public void AllOrderingsOfTheSeedGiveOneResult()
    {
        var seed = PolicyLoader.LoadPaths([RepoPaths.Of("examples", "seed")]).Policies.ToList();
        var expected = Snapshot(seed);
        Assert.Contains(expected, l => l.Contains("redirect:kafka", StringComparison.Ordinal));
        var count = 0;
        foreach (var order in Permutations(seed))
        {
            Assert.Equal(expected, Snapshot(order));
            var reversedRules = order.Select(p => p with
            {
                Rules = [.. p.Rules.Select(r => r with { Ingress = r.Ingress?.Reverse().ToList() })],
            });
            Assert.Equal(expected, Snapshot(reversedRules));
            count++;
        }

        Assert.Equal(24, count);
    }
}
