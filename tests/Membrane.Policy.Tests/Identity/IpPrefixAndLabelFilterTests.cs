using System.Net;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.Model;

namespace Membrane.Policy.Tests.Identity;

public sealed class IpPrefixAndLabelFilterTests
{
    [Theory]
    [InlineData("10.1.2.3/8", "10.0.0.0/8")]
    [InlineData("10.1.2.3", "10.1.2.3/32")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("2001:db8::1/32", "2001:db8::/32")]
    [InlineData("::/0", "::/0")]
    public void PrefixesAreNormalized(string text, string expected) => Assert.Equal(expected, IpPrefix.Parse(text).ToString());

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0/8")]
    [InlineData("")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("fe80::1%eth0/64")]
    public void BadPrefixesAreRejected(string text) => Assert.False(IpPrefix.TryParse(text, out _));

    [Fact]
    public void Containment()
    {
        var p = IpPrefix.Parse("192.168.0.0/16");
        Assert.True(p.Contains(IPAddress.Parse("192.168.255.1")));
        Assert.False(p.Contains(IPAddress.Parse("192.169.0.1")));
        Assert.True(p.Contains(IpPrefix.Parse("192.168.3.0/24")));
        Assert.False(p.Contains(IpPrefix.Parse("192.0.0.0/8")));
        Assert.False(p.Contains(IpPrefix.Parse("::/0")));
    }

    [Theory]
    [InlineData("k8s:app=x", true)]
    [InlineData("k8s:io.kubernetes.pod.namespace=default", true)]
    [InlineData("k8s:io.kubernetes.container.name=x", false)]
    [InlineData("k8s:kubernetes.io/hostname=n1", false)]
    [InlineData("k8s:pod-template-hash=abc", false)]
    [InlineData("k8s:controller-revision-hash=abc", false)]
    [InlineData("k8s:statefulset.kubernetes.io/pod-name=db-0", false)]
    [InlineData("k8s:failure-domain.beta.kubernetes.io/zone=a", false)]
    [InlineData("k8s:app.kubernetes.io/name=shop", true)]
    [InlineData("k8s:io.cilium.k8s.namespace.labels.team=a", true)]
    [InlineData("k8s:io.cilium.k8s.policy.serviceaccount=sa", true)]
    [InlineData("reserved:host", true)]
    public void IdentityRelevantLabels(string label, bool kept) =>
        Assert.Equal(kept, IdentityLabelFilter.IsIdentityRelevant(Label.Parse(label)));

    [Fact]
    public void EndpointIdentityLabelsCarryNamespaceClusterAndNamespaceLabels()
    {
        var e = new EndpointInfo(1, "p", "shop", LabelSet.Parse("app=web,pod-template-hash=123"), null, [])
        {
            NamespaceLabels = LabelSet.Parse("team=blue"),
            ServiceAccount = "web-sa",
        };
        Assert.Equal(
            "k8s:app=web,k8s:io.cilium.k8s.namespace.labels.team=blue,k8s:io.cilium.k8s.policy.cluster=default,k8s:io.cilium.k8s.policy.serviceaccount=web-sa,k8s:io.kubernetes.pod.namespace=shop",
            e.IdentityLabels.ToString());
    }
}
