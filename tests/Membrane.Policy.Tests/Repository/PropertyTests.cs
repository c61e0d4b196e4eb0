using CsCheck;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;
using Membrane.Policy.Tests.Builders;

namespace Membrane.Policy.Tests.Repository;

/// <summary>
/// Property tests over random rule sets: the normative lookup over the computed map state agrees with a direct, naive
/// evaluation of the rules (deny precedence, default deny, L7 wildcarding); the order of policies and rules does not
/// matter; and incremental updates equal a full recomputation.
/// </summary>
public sealed class PropertyTests
{
    private static readonly string[] Methods = ["GET", "POST"];

    private readonly struct NoHeaders : IHttpHeaderView
    {
        public int Count(string name) => 0;

        public ReadOnlySpan<char> Value(string name, int index) => [];
    }

    private static (TestRepository Repo, List<(LabelSet Labels, NumericIdentity Id)> Peers) Build(IEnumerable<PolicyResource> policies)
    {
        var t = new TestRepository();
        foreach (var e in PolicyGen.Endpoints)
        {
            t.Add(e);
        }

        t.Repository.ReplaceAll(policies);
        var peers = PolicyGen.Endpoints.Select(e => (e.IdentityLabels, t.IdentityOf(e.Id))).ToList();
        foreach (var (id, labels) in ReservedIdentities.Identities)
        {
            peers.Add((labels, id));
        }

        return (t, peers);
    }

    [Fact]
    public void LookupOverMapStateEqualsNaiveEvaluationOfTheRules()
    {
        PolicyGen.PolicySet.Sample(policies =>
        {
            var (t, peers) = Build(policies);
            var naive = new NaiveEvaluator(policies, PolicyGen.Endpoints);
            foreach (var e in PolicyGen.Endpoints)
            {
                var ep = t.Policy(e.Id);
                foreach (var d in new[] { TrafficDirection.Ingress, TrafficDirection.Egress })
                {
                    foreach (var (labels, id) in peers)
                    {
                        foreach (var (proto, port) in PolicyGen.Probes)
                        {
                            var actual = ep.Lookup(d, id, proto, port);
                            var expected = naive.Evaluate(e, d, labels, proto, port);
                            var where = $"{e.QualifiedName} {d} peer {labels} {proto}/{port}";
                            Assert.True(expected.Allowed == actual.IsAllowed, $"{where}: expected {expected}, lookup {actual}");
                            Assert.True(expected.Reason == actual.DropReason, $"{where}: expected {expected.Reason}, lookup {actual.DropReason}");
                            if (actual.Verdict == LookupVerdict.Redirected)
                            {
                                var rules = ep.GetHttpRules(d, id, proto, port);
                                Assert.NotNull(rules);
                                foreach (var m in Methods)
                                {
                                    var h = default(NoHeaders);
                                    var l7 = rules.Evaluate(m, "/", "svc", ref h);
                                    var want = naive.Evaluate(e, d, labels, proto, port, m).HttpAllowed;
                                    Assert.True(want == l7.Allowed, $"{where} {m}: expected L7 {want}, got {l7.Allowed}");
                                }
                            }
                            else if (actual.Verdict == LookupVerdict.Allowed)
                            {
                                foreach (var m in Methods)
                                {
                                    Assert.True(naive.Evaluate(e, d, labels, proto, port, m).HttpAllowed, $"{where} {m}: allowed at L4 without proxy but the rules restrict L7");
                                }
                            }
                        }
                    }
                }
            }
        }, iter: 100, print: Print);
    }

    [Fact]
    public void AllowAndRedirectEntriesAreNeverCoveredByADenyOfTheSameIdentity()
    {
        PolicyGen.PolicySet.Sample(policies =>
        {
            var (t, _) = Build(policies);
            foreach (var e in PolicyGen.Endpoints)
            {
                var entries = t.Policy(e.Id).Entries.ToList();
                foreach (var allow in entries.Where(x => x.Value.Verdict != PolicyVerdict.Deny))
                {
                    Assert.DoesNotContain(entries, deny => deny.Value.Verdict == PolicyVerdict.Deny && deny.Key.Identity == allow.Key.Identity && allow.Key.IsCoveredBy(deny.Key));
                }
            }
        }, iter: 150, print: Print);
    }

    [Fact]
    public void OrderOfPoliciesAndRulesDoesNotMatter()
    {
        Gen.Select(PolicyGen.PolicySet, Gen.Int).Sample((policies, seed) =>
        {
            var (first, _) = Build(policies);
            var random = new Random(seed);
            var shuffled = policies.Select(p => Shuffle(p, random)).OrderBy(_ => random.Next()).ToList();
            var (second, _) = Build(shuffled);
            foreach (var e in PolicyGen.Endpoints)
            {
                var a = first.Policy(e.Id);
                var b = second.Policy(e.Id);
                Assert.Equal(a.Entries.Select(x => (x.Key, x.Value)).ToList(), b.Entries.Select(x => (x.Key, x.Value)).ToList());
                Assert.Equal(a.Ingress.DefaultDenyBy.ToArray(), b.Ingress.DefaultDenyBy.ToArray());
                Assert.Equal(a.Egress.DefaultDenyBy.ToArray(), b.Egress.DefaultDenyBy.ToArray());
                foreach (var entry in a.Entries.Where(x => x.Value.Verdict == PolicyVerdict.Redirect))
                {
                    var ra = a.GetHttpRules(entry.Key.Direction, new NumericIdentity(entry.Key.Identity), entry.Key.Protocol, entry.Key.Port)!;
                    var rb = b.GetHttpRules(entry.Key.Direction, new NumericIdentity(entry.Key.Identity), entry.Key.Protocol, entry.Key.Port)!;
                    Assert.Equal(ra.Rules.Select(r => (r.Rule, r.Origin)), rb.Rules.Select(r => (r.Rule, r.Origin)));
                }
            }
        }, iter: 100);
    }

    [Fact]
    public void IncrementalUpdatesEqualFullRecomputationAndDeltasReplayToTheSameMaps()
    {
        var op = Gen.Frequency(
            (3, PolicyGen.PolicyShape.Select(s => new Op(OpKind.UpsertPolicy, Shape: s))),
            (1, Gen.Int[0, 3].Select(i => new Op(OpKind.DeletePolicy, Index: i))),
            (2, Gen.Int[0, PolicyGen.Endpoints.Count - 1].Select(i => new Op(OpKind.UpsertEndpoint, Index: i))),
            (1, Gen.Int[0, PolicyGen.Endpoints.Count - 1].Select(i => new Op(OpKind.RemoveEndpoint, Index: i))),
            (2, Gen.Int[0, 5].Select(i => new Op(OpKind.UpsertIdentity, Index: i))),
            (1, Gen.Int[0, 5].Select(i => new Op(OpKind.RemoveIdentity, Index: i))));
        Gen.Select(op.Array[1, 12], Gen.Int[0, 3]).Sample((ops, policyNameSeed) =>
        {
            var t = new TestRepository();
            var policies = new Dictionary<string, PolicyResource>();
            var endpoints = new Dictionary<ushort, EndpointInfo>();
            var remote = new Dictionary<uint, LabelSet>();
            var shadow = new Dictionary<ushort, Dictionary<PolicyKey, PolicyEntry>>();
            var step = 0;
            foreach (var o in ops)
            {
                PolicyUpdate? update = o.Kind switch
                {
                    OpKind.UpsertPolicy => Apply(() =>
                    {
                        var p = PolicyGen.Make($"p{(step + policyNameSeed) % 4}", o.Shape);
                        policies[p.Name] = p;
                        return ReplaceSameName(t, p);
                    }),
                    OpKind.DeletePolicy => policies.Remove($"p{o.Index}", out var victim)
                        ? Apply(() => t.Repository.Delete(victim.Ref))
                        : null,
                    OpKind.UpsertEndpoint => Apply(() =>
                    {
                        var e = PolicyGen.Endpoints[o.Index];
                        // Move some endpoints to other labels so that updates change identities.
                        if (endpoints.ContainsKey(e.Id) && o.Index % 2 == 0)
                        {
                            e = e with { Labels = e.Labels.With(new Label(Label.SourceK8s, "moved", "yes")) };
                        }

                        endpoints[e.Id] = e;
                        return t.Repository.UpsertEndpoint(e);
                    }),
                    OpKind.RemoveEndpoint => Apply(() =>
                    {
                        var id = PolicyGen.Endpoints[o.Index].Id;
                        endpoints.Remove(id);
                        return t.Repository.RemoveEndpoint(id);
                    }),
                    OpKind.UpsertIdentity => Apply(() =>
                    {
                        var id = 60000u + (uint)o.Index;
                        var labels = LabelSet.Parse($"app={PolicyGen.Apps[o.Index % 3]},tier=x,io.kubernetes.pod.namespace={PolicyGen.Namespaces[o.Index % 2]}");
                        remote[id] = labels;
                        return t.Repository.UpsertIdentity(new NumericIdentity(id), labels);
                    }),
                    _ => Apply(() =>
                    {
                        var id = 60000u + (uint)o.Index;
                        remote.Remove(id);
                        return t.Repository.RemoveIdentity(new NumericIdentity(id));
                    }),
                };
                step++;
                foreach (var d in update?.Deltas ?? [])
                {
                    if (!shadow.TryGetValue(d.EndpointId, out var map))
                    {
                        map = [];
                        shadow[d.EndpointId] = map;
                    }

                    foreach (var k in d.Deletes)
                    {
                        Assert.True(map.Remove(k), $"step {step}: delta deletes {k} which is not in the map");
                    }

                    foreach (var (k, v) in d.Upserts)
                    {
                        map[k] = v;
                    }
                }

                var fresh = new TestRepository();
                foreach (var (id, labels) in remote)
                {
                    fresh.Repository.UpsertIdentity(new NumericIdentity(id), labels);
                }

                foreach (var e in endpoints.Values.OrderBy(e => e.Id))
                {
                    fresh.Repository.UpsertEndpoint(e);
                }

                fresh.Repository.ReplaceAll(policies.Values);
                Assert.Equal(endpoints.Keys.Order(), t.Repository.EndpointPolicies.Select(p => p.EndpointId));
                foreach (var id in endpoints.Keys)
                {
                    var incremental = Canonical(t, t.Policy(id).Entries);
                    var full = Canonical(fresh, fresh.Policy(id).Entries);
                    Assert.True(full.SequenceEqual(incremental), $"step {step} endpoint {id}: repo policies [{string.Join(", ", t.Repository.Policies.Select(p => p.Ref))}] expected policies [{string.Join(", ", policies.Values.Select(p => p.Ref))}]{Environment.NewLine}full:{Environment.NewLine}{string.Join(Environment.NewLine, full)}{Environment.NewLine}incremental:{Environment.NewLine}{string.Join(Environment.NewLine, incremental)}");
                    var replayed = Canonical(t, shadow.GetValueOrDefault(id) ?? []);
                    Assert.Equal(incremental, replayed);
                    Assert.Equal(fresh.Policy(id).Ingress.DefaultDenyBy.ToArray(), t.Policy(id).Ingress.DefaultDenyBy.ToArray());
                }

                foreach (var gone in shadow.Keys.Where(k => !endpoints.ContainsKey(k)).ToList())
                {
                    Assert.Empty(shadow[gone]);
                    shadow.Remove(gone);
                }
            }
        }, iter: 120, print: x => string.Join(Environment.NewLine, x.Item1.Select(o => o.ToString())) + $" name seed {x.Item2}");
    }

    private static PolicyUpdate? Apply(Func<PolicyUpdate?> f) => f();

    private static PolicyUpdate ReplaceSameName(TestRepository t, PolicyResource p)
    {
        // A policy of the same name in another namespace or kind is a different resource: delete it in the same
        // step, and hand back the deltas of both changes (the later one wins per key).
        var deltas = new List<MapStateDelta>();
        foreach (var other in t.Repository.Policies.Where(x => x.Name == p.Name && x.Ref != p.Ref).ToList())
        {
            deltas.AddRange(t.Repository.Delete(other.Ref)!.Deltas);
        }

        var update = t.Repository.Upsert(p);
        deltas.AddRange(update.Deltas);
        return update with { Deltas = deltas };
    }

    /// <summary>Entries with identities replaced by their labels, so two repositories can be compared.</summary>
    private static List<string> Canonical(TestRepository t, IEnumerable<KeyValuePair<PolicyKey, PolicyEntry>> entries) =>
        [.. entries.Select(e =>
        {
            var who = e.Key.Identity == 0 ? "*" : t.Repository.TryGetIdentityLabels(new NumericIdentity(e.Key.Identity), out var l) ? l.ToString() : $"?{e.Key.Identity}";
            return $"{e.Key.Direction} {who} {e.Key.PortProtocolText} {e.Value.Verdict} {e.Value.L7} [{string.Join(',', e.Value.DerivedFrom)}]";
        }).Order(StringComparer.Ordinal)];

    private static PolicyResource Shuffle(PolicyResource p, Random random)
    {
        List<T>? S<T>(IReadOnlyList<T>? list) => list?.OrderBy(_ => random.Next()).ToList();
        var rules = p.Rules.Select(r => r with
        {
            Ingress = S(r.Ingress)?.Select(i => i with { ToPorts = S(i.ToPorts), FromEndpoints = S(i.FromEndpoints) }).ToList(),
            IngressDeny = S(r.IngressDeny),
            Egress = S(r.Egress)?.Select(e => e with { ToPorts = S(e.ToPorts) }).ToList(),
            EgressDeny = S(r.EgressDeny),
        }).OrderBy(_ => random.Next()).ToList();
        return p with { Rules = rules };
    }

    private static string Print(PolicyResource[] policies) => string.Join(Environment.NewLine, policies.Select(Describe));

    private static string Describe(PolicyResource p) =>
        $"{p.Ref}: " + string.Join(" | ", p.Rules.Select(r =>
            $"subject {Selector(r.EndpointSelector)} dd={r.EnableDefaultDeny} in={Rules(r.Ingress)} inDeny={Rules(r.IngressDeny)} eg={Rules(r.Egress?.Select(e => new IngressRule(e.ToEndpoints, null, null, e.ToEntities, null, e.ToPorts, e.Icmps, e.FieldPath)).ToList())} egDeny={Rules(r.EgressDeny?.Select(e => new IngressRule(e.ToEndpoints, null, null, e.ToEntities, null, e.ToPorts, e.Icmps, e.FieldPath)).ToList())}"));

    private static string Rules(IReadOnlyList<IngressRule>? rules) => rules is null ? "null" : "[" + string.Join("; ", rules.Select(r =>
        $"eps={(r.FromEndpoints is null ? "null" : string.Join("+", r.FromEndpoints.Select(Selector)))} ents={(r.FromEntities is null ? "null" : string.Join("+", r.FromEntities))} ports={(r.ToPorts is null ? "null" : string.Join("+", r.ToPorts.Select(p => string.Join(",", p.Ports.Select(x => $"{x.Port}-{x.EndPort}/{x.Protocol}")) + (p.Rules?.Http is { } h ? "{" + string.Join(",", h.Select(x => x.Method ?? x.Path)) + "}" : ""))))} icmps={r.Icmps?.Count}")) + "]";

    private static string Selector(EndpointSelector? s) => s is null ? "null" :
        "{" + string.Join(",", s.MatchLabels.Select(kv => $"{kv.Key}={kv.Value}").Concat(s.MatchExpressions.Select(e => $"{e.Key} {e.Operator} {string.Join("/", e.Values)}"))) + "}";

    private enum OpKind
    {
        UpsertPolicy,
        DeletePolicy,
        UpsertEndpoint,
        RemoveEndpoint,
        UpsertIdentity,
        RemoveIdentity,
    }

    private sealed record Op(OpKind Kind, (int Kind, PolicyRule[] Rules) Shape = default, int Index = 0)
    {
        public override string ToString() => Kind == OpKind.UpsertPolicy ? $"{Kind}({Describe(PolicyGen.Make("p", Shape))})" : $"{Kind}({Index})";
    }
}
