using CsCheck;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;
using Membrane.Policy.Selectors;
using static Membrane.Policy.Tests.Builders.Policies;

namespace Membrane.Policy.Tests.Selectors;

public sealed class LabelSelectorTests
{
    private static readonly LabelSet Frontend = LabelSet.Parse("k8s:app=frontend,k8s:io.kubernetes.pod.namespace=default,container:tier=web");

    [Theory]
    [InlineData("app", "any", "app")]
    [InlineData("k8s:app", "k8s", "app")]
    [InlineData("any:app", "any", "app")]
    [InlineData("$host", "reserved", "host")]
    [InlineData("reserved:world", "reserved", "world")]
    [InlineData("k8s:io.kubernetes.pod.namespace", "k8s", "io.kubernetes.pod.namespace")]
    [InlineData("cidr:2001:db8::/32", "cidr", "2001:db8::/32")]
    public void KeysWithoutSourceAreAny(string written, string source, string key) =>
        Assert.Equal((source, key), SelectorFactory.ParseKey(written));

    [Theory]
    [InlineData("app=frontend", true)]
    [InlineData("any:app=frontend", true)]
    [InlineData("k8s:app=frontend", true)]
    [InlineData("container:app=frontend", false)]
    [InlineData("tier=web", true)]
    [InlineData("k8s:tier=web", false)]
    [InlineData("container:tier=web", true)]
    [InlineData("app=backend", false)]
    public void MatchLabelsRespectSources(string label, bool matches) =>
        Assert.Equal(matches, SelectorFactory.FromEndpointSelector(Sel(label)).Matches(Frontend));

    [Theory]
    [InlineData("app", SelectorOperator.In, new[] { "frontend", "x" }, true)]
    [InlineData("app", SelectorOperator.NotIn, new[] { "frontend" }, false)]
    [InlineData("missing", SelectorOperator.NotIn, new[] { "frontend" }, true)]
    [InlineData("app", SelectorOperator.Exists, new string[0], true)]
    [InlineData("missing", SelectorOperator.Exists, new string[0], false)]
    [InlineData("app", SelectorOperator.DoesNotExist, new string[0], false)]
    [InlineData("missing", SelectorOperator.DoesNotExist, new string[0], true)]
    [InlineData("k8s:tier", SelectorOperator.Exists, new string[0], false)]
    public void MatchExpressionsFollowKubernetesSemantics(string key, SelectorOperator op, string[] values, bool matches) =>
        Assert.Equal(matches, SelectorFactory.FromEndpointSelector(Expr(key, op, values)).Matches(Frontend));

    [Fact]
    public void EmptySelectorIsTheWildcard()
    {
        var s = SelectorFactory.FromEndpointSelector(All);
        Assert.True(s.IsWildcard);
        Assert.True(s.Matches(LabelSet.Empty));
    }

    [Fact]
    public void CidrRequirementsCompareByContainment()
    {
        var s = LabelSelector.ForCidr(IpPrefix.Parse("10.0.0.0/8"), [IpPrefix.Parse("10.1.0.0/16")]);
        Assert.True(s.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("10.0.0.0/8"))));
        Assert.True(s.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("10.2.3.0/24"))));
        Assert.False(s.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("10.1.0.0/16"))));
        Assert.False(s.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("10.1.9.9/32"))));
        Assert.False(s.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("0.0.0.0/7"))));
        Assert.False(s.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("11.0.0.0/8"))));
        Assert.False(s.Matches(LabelSet.Parse("reserved:world")));
        var v6 = LabelSelector.ForCidr(IpPrefix.Parse("2001:db8::/32"), []);
        Assert.True(v6.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("2001:db8:1::/48"))));
        Assert.False(v6.Matches(CidrIdentity.LabelsFor(IpPrefix.Parse("10.0.0.0/8"))));
    }

    [Fact]
    public void SubjectOfANamespacedPolicyAlwaysAppliesInItsNamespace()
    {
        var s = SelectorFactory.Subject(Sel("app=frontend", "k8s:io.kubernetes.pod.namespace=prod"), "default");
        Assert.Equal("{any:app=frontend, k8s:io.kubernetes.pod.namespace=default}", s.ToString());
        Assert.Equal("{}", SelectorFactory.Subject(All, null).ToString());
    }

    [Theory]
    [InlineData("default", "{any:app=x, k8s:io.kubernetes.pod.namespace=default}", "app=x")]
    [InlineData("default", "{any:app=x, k8s:io.kubernetes.pod.namespace=prod}", "app=x", "k8s:io.kubernetes.pod.namespace=prod")]
    [InlineData("default", "{any:app=x, any:io.kubernetes.pod.namespace=prod}", "app=x", "io.kubernetes.pod.namespace=prod")]
    [InlineData("default", "{any:io.cilium.k8s.namespace.labels.team=a}", "io.cilium.k8s.namespace.labels.team=a")]
    [InlineData("default", "{reserved:host=}", "reserved:host")]
    [InlineData(null, "{any:app=x, k8s:io.kubernetes.pod.namespace}", "app=x")]
    [InlineData(null, "{k8s:io.kubernetes.pod.namespace}")]
    [InlineData(null, "{any:io.cilium.k8s.namespace.labels.team=a, k8s:io.kubernetes.pod.namespace}", "io.cilium.k8s.namespace.labels.team=a")]
    public void PeerSelectorsAreNamespaceScoped(string? ns, string expected, params string[] labels) =>
        Assert.Equal(expected, SelectorFactory.Peer(Sel(labels), ns, subjectSelectsInit: false).ToString());

    [Fact]
    public void PeersOfAnInitSubjectAreNotScoped()
    {
        var subject = SelectorFactory.Subject(Sel("reserved:init"), null);
        Assert.True(SelectorFactory.SelectsInit(subject));
        Assert.Equal("{any:app=x}", SelectorFactory.Peer(Sel("app=x"), "default", SelectorFactory.SelectsInit(subject)).ToString());
    }

    [Fact]
    public void Entities()
    {
        Assert.True(SelectorFactory.Entities(["all"]).Wildcard);
        Assert.Equal(
            ["{reserved:world=}", "{reserved:world-ipv4=}", "{reserved:world-ipv6=}"],
            SelectorFactory.Entities(["world"]).Selectors.Select(s => s.ToString()));
        var cluster = SelectorFactory.Entities(["cluster"], "east").Selectors.Select(s => s.ToString()).ToList();
        Assert.Contains("{k8s:io.cilium.k8s.policy.cluster=east}", cluster);
        Assert.Contains("{reserved:kube-apiserver=}", cluster);
        Assert.DoesNotContain("{reserved:world=}", cluster);
        Assert.Empty(SelectorFactory.Entities(["none"]).Selectors);
        Assert.Equal("unsupported entity: moon (Parameter 'entities')", Assert.Throws<ArgumentException>(() => SelectorFactory.Entities(["moon"])).Message);
    }

    [Fact]
    public void WholeAddressSpaceCidrAddsWorld()
    {
        Assert.Equal(
            ["{cidr:0.0.0.0/0}", "{reserved:world=}", "{reserved:world-ipv4=}"],
            SelectorFactory.Cidr(IpPrefix.Parse("0.0.0.0/0"), []).Select(s => s.ToString()));
        Assert.Equal(["{cidr:10.0.0.0/8}"], SelectorFactory.Cidr(IpPrefix.Parse("10.0.0.0/8"), []).Select(s => s.ToString()));
    }

    [Fact]
    public void EqualRequirementsInAnyOrderAreOneSelector()
    {
        Gen.Shuffle(new[] { "a=1", "b=2", "c=3", "k8s:d=4" }).Sample(labels =>
        {
            var x = SelectorFactory.FromEndpointSelector(Sel(labels));
            var y = SelectorFactory.FromEndpointSelector(Sel("k8s:d=4", "c=3", "b=2", "a=1"));
            Assert.Equal(y, x);
            Assert.Equal(y.GetHashCode(), x.GetHashCode());
        });
    }
}
