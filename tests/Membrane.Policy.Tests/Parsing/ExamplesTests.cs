using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Parsing;

/// <summary>Every policy under <c>examples/</c> (all of it except <c>examples/lab/</c>, which holds lab topologies)
/// loads without error, and the features each example shows are in the model.</summary>
public sealed class ExamplesTests
{
    private static readonly PolicyLoadResult Examples = PolicyLoader.LoadPaths(
        Directory.GetFileSystemEntries(RepoPaths.Of("examples")).Where(p => Path.GetFileName(p) != "lab").Order(StringComparer.Ordinal));

    private static PolicyResource Named(string name) => Examples.Policies.Single(p => p.Name == name);

    [Fact]
    public void AllExamplesAreValid()
    {
        Assert.Empty(Examples.Errors);
        Assert.Equal(12, Examples.Policies.Count);
        Assert.Equal(
            [(PolicyKind.CiliumNetworkPolicy, 10), (PolicyKind.CiliumClusterwideNetworkPolicy, 1), (PolicyKind.NetworkPolicy, 1)],
            Examples.Policies.GroupBy(p => p.Kind).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())));
    }

    [Fact]
    public void DenyRule() =>
        Assert.Equal("admin", Assert.Single(Assert.Single(Named("frontend-no-admin").Rules[0].EgressDeny!).ToEndpoints!).MatchLabels["app"]);

    [Fact]
    public void CidrWithExcept()
    {
        var sets = Named("billing-to-partner").Rules[0].Egress![0].ToCidrSet!;
        Assert.Equal(["203.0.113.128/25"], sets[0].Except);
        Assert.Equal("2001:db8:100::/48", sets[1].Cidr);
        Assert.Empty(sets[1].Except);
    }

    [Fact]
    public void Entities()
    {
        var rule = Named("operator-entities").Rules[0];
        Assert.Equal(["host"], rule.Ingress![0].FromEntities);
        Assert.Equal([["kube-apiserver"], ["world"]], rule.Egress!.Select(e => e.ToEntities!));
    }

    [Fact]
    public void PortRange() =>
        Assert.Equal(
            [new PortProtocol("10000", 20000, "UDP"), new PortProtocol("5060", null, "ANY")],
            Named("media-rtp").Rules[0].Ingress![0].ToPorts![0].Ports);

    [Fact]
    public void NamedPortWithL7()
    {
        var portRule = Named("metrics-scrape").Rules[0].Ingress![0].ToPorts![0];
        Assert.Equal(new PortProtocol("metrics", null, "TCP"), Assert.Single(portRule.Ports));
        Assert.Equal("/metrics", Assert.Single(portRule.Rules!.Http!).Path);
    }

    [Fact]
    public void IcmpAndDefaultDeny()
    {
        var rule = Named("db-ping").Rules[0];
        Assert.Equal(new DefaultDenyConfig(false, null), rule.EnableDefaultDeny);
        Assert.Equal([new IcmpField("IPv4", "EchoRequest"), new IcmpField("IPv6", "EchoRequest")], rule.Ingress![0].Icmps![0].Fields);
    }

    [Fact]
    public void ClusterwidePolicyWithSpecs()
    {
        var ccnp = Named("external-lockdown");
        Assert.Null(ccnp.Namespace);
        Assert.Equal(["specs[0]", "specs[1]"], ccnp.Rules.Select(r => r.FieldPath));
        Assert.Equal("world-denied", ccnp.Rules[0].Log);
        Assert.Equal([new Label("unspec", "owner", "platform")], ccnp.Rules[0].Labels);
    }

    [Fact]
    public void KubernetesNetworkPolicy()
    {
        var rule = Named("api").Rules[0];
        Assert.Equal(2, rule.Ingress!.Count);
        Assert.Equal("payments", rule.Ingress[1].FromEndpoints![0].MatchLabels["k8s:io.cilium.k8s.namespace.labels.team"]);
        Assert.Equal(["10.96.0.1/32"], rule.Egress![1].ToCidrSet![0].Except);
        Assert.Equal(new PortProtocol("53", 53, "UDP"), rule.Egress[1].ToPorts![0].Ports[0]);
    }
}
