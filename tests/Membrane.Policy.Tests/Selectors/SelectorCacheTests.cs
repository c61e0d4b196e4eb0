using CsCheck;
using Membrane.Policy.Model;
using Membrane.Policy.Selectors;
using static Membrane.Policy.Tests.Builders.Policies;

namespace Membrane.Policy.Tests.Selectors;

public sealed class SelectorCacheTests
{
    private sealed class Recorder : ISelectorCacheUser
    {
        public List<string> Events { get; } = [];

        public void SelectionsChanged(CachedSelector selector, IReadOnlyList<uint> added, IReadOnlyList<uint> removed) =>
            Events.Add($"{selector} +[{string.Join(',', added)}] -[{string.Join(',', removed)}]");
    }

    private static LabelSelector S(params string[] labels) => SelectorFactory.FromEndpointSelector(Sel(labels));

    [Fact]
    public void SelectionsFollowIdentitiesAndUsersAreNotified()
    {
        var cache = new SelectorCache();
        cache.UpsertIdentities([KeyValuePair.Create(300u, LabelSet.Parse("app=a,tier=x"))]);
        var byApp = cache.Acquire(S("app=a"));
        var byTier = cache.Acquire(SelectorFactory.FromEndpointSelector(Expr("tier", SelectorOperator.Exists)));
        Assert.Equal([300u], byApp.Selections);
        var user = new Recorder();
        byApp.AddUser(user);
        byTier.AddUser(user);

        cache.UpsertIdentities([KeyValuePair.Create(301u, LabelSet.Parse("app=a")), KeyValuePair.Create(302u, LabelSet.Parse("app=b,tier=y"))]);
        Assert.Equal([300u, 301u], byApp.Selections.Order());
        Assert.Equal([300u, 302u], byTier.Selections.Order());
        Assert.Equal(["{any:app=a} +[301] -[]", "{any:tier} +[302] -[]"], user.Events.Order());

        user.Events.Clear();
        cache.RemoveIdentities([300u, 999u]);
        Assert.Equal(["{any:app=a} +[] -[300]", "{any:tier} +[] -[300]"], user.Events.Order());

        user.Events.Clear();
        cache.UpsertIdentities([KeyValuePair.Create(301u, LabelSet.Parse("app=b,tier=z"))]);
        Assert.Equal(["{any:app=a} +[] -[301]", "{any:tier} +[301] -[]"], user.Events.Order());
    }

    [Fact]
    public void EqualSelectorsShareOneEntryUntilTheLastRelease()
    {
        var cache = new SelectorCache();
        var a = cache.Acquire(S("app=a", "tier=x"));
        var b = cache.Acquire(S("tier=x", "app=a"));
        Assert.Same(a, b);
        Assert.Equal(1, cache.Count);
        cache.Release(a);
        Assert.Equal(1, cache.Count);
        cache.Release(b);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void SelectionsEqualNaiveMatchingAfterAnySequenceOfChanges()
    {
        var labelSets = Gen.Select(Gen.OneOf("a", "b", "c"), Gen.OneOf("x", "y", null), Gen.OneOf("default", "prod"), Gen.OneOf("k8s", "container"),
            (app, tier, ns, source) => new LabelSet(new[]
            {
                new Label(source, "app", app),
                new Label(Label.SourceK8s, "io.kubernetes.pod.namespace", ns),
            }.Concat(tier is null ? [] : [new Label(Label.SourceK8s, "tier", tier)])));
        var selectors = Gen.OneOf(
            S("app=a"), S("k8s:app=b"), S("container:app=c"), S("tier=x", "app=a"), S("k8s:io.kubernetes.pod.namespace=prod"),
            SelectorFactory.FromEndpointSelector(Expr("tier", SelectorOperator.DoesNotExist)),
            SelectorFactory.FromEndpointSelector(Expr("app", SelectorOperator.NotIn, "a", "b")),
            LabelSelector.Wildcard);
        var op = Gen.Select(Gen.Int[0, 3], Gen.Int[1, 8], labelSets, selectors);
        op.Array[1, 40].Sample(ops =>
        {
            var cache = new SelectorCache();
            var identities = new Dictionary<uint, LabelSet>();
            var held = new List<CachedSelector>();
            foreach (var (kind, id, labels, selector) in ops)
            {
                switch (kind)
                {
                    case 0:
                        cache.UpsertIdentities([KeyValuePair.Create((uint)id, labels)]);
                        identities[(uint)id] = labels;
                        break;
                    case 1:
                        cache.RemoveIdentities([(uint)id]);
                        identities.Remove((uint)id);
                        break;
                    case 2:
                        held.Add(cache.Acquire(selector));
                        break;
                    default:
                        if (held.Count > 0)
                        {
                            cache.Release(held[id % held.Count]);
                            held.RemoveAt(id % held.Count);
                        }

                        break;
                }

                foreach (var c in held)
                {
                    var expected = identities.Where(kv => c.Selector.Matches(kv.Value)).Select(kv => kv.Key).Order();
                    Assert.Equal(expected, c.Selections.Order());
                }
            }
        });
    }
}
