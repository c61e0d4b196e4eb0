using Membrane.Policy.Endpoints;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;
using Membrane.Policy.Tests.Builders;
using static Membrane.Policy.Tests.Builders.Policies;

namespace Membrane.Policy.Tests.Repository;

/// <summary>Table tests: policies in, expected map state out (contracts.md "Policy → Datapath").</summary>
public sealed class MapStateTableTests
{
    private const ushort Frontend = 1;
    private const ushort Users = 2;
    private const ushort Billing = 3;
    private const ushort Other = 4;

    private static TestRepository Lab(params PolicyResource[] policies)
    {
        var t = new TestRepository();
        t.Add(Frontend, "default", "app=frontend", "10.0.0.1");
        t.Add(Users, "default", "app=users", "10.0.0.2", new NamedPort("http", 8080, 6));
        t.Add(Billing, "default", "app=billing", "10.0.0.3", new NamedPort("metrics", 9090, 6));
        t.Add(Other, "prod", "app=frontend", "10.0.0.4");
        t.Repository.ReplaceAll(policies);
        return t;
    }

    private static PolicyResource UsersIngress(params IngressRule[] ingress) =>
        Cnp("users", "default", Rule(Sel("app=users"), ingress: ingress));

    [Fact]
    public void WithoutPolicyBothDirectionsHoldTheAllowAllEntry()
    {
        var t = Lab();
        Assert.Equal(["egress * ANY allow", "ingress * ANY allow"], t.Entries(Users));
        Assert.False(t.Policy(Users).Ingress.Enforced);
        Assert.Empty(t.Policy(Users).Ingress.DefaultDenyBy.ToArray());
    }

    [Fact]
    public void L3OnlyRuleIsProtocolZeroAndEnforcesOnlyItsDirection()
    {
        var t = Lab(UsersIngress(From([Sel("app=frontend")])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 ANY allow"], t.Entries(Users));
        Assert.True(t.Policy(Users).Ingress.Enforced);
        Assert.False(t.Policy(Users).Egress.Enforced);
        Assert.Equal([new PolicyRef("CiliumNetworkPolicy", "default", "users")], t.Policy(Users).Ingress.DefaultDenyBy.ToArray());
        Assert.Equal(["egress * ANY allow", "ingress * ANY allow"], t.Entries(Frontend));
    }

    [Fact]
    public void AnyProtocolExpandsToTcpUdpSctp()
    {
        var t = Lab(UsersIngress(From([Sel("app=frontend")], toPorts: [Ports("80")])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 80/SCTP allow", "ingress pod1 80/TCP allow", "ingress pod1 80/UDP allow"], t.Entries(Users));
    }

    [Fact]
    public void EndPortRangesBecomePrefixBlocks()
    {
        var t = Lab(UsersIngress(From([Sel("app=frontend")], toPorts: [Ports("8080-8090/TCP")])));
        Assert.Equal(
            ["egress * ANY allow", "ingress pod1 8080-8087/TCP allow", "ingress pod1 8088-8089/TCP allow", "ingress pod1 8090/TCP allow"],
            t.Entries(Users));
    }

    [Fact]
    public void PortZeroIsEveryPortOfTheProtocol()
    {
        var t = Lab(UsersIngress(From([Sel("app=frontend")], toPorts: [Ports("0/UDP")])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 UDP allow"], t.Entries(Users));
    }

    [Fact]
    public void IngressNamedPortsResolveAgainstTheEndpointItself()
    {
        var t = Lab(Cnp("all", "default", Rule(All, ingress: [From([Sel("app=frontend")], toPorts: [Ports("http/TCP")])])));
        Assert.Contains("ingress pod1 8080/TCP allow", t.Entries(Users));
        // billing has no port named http: the rule opens nothing there, but billing is still in default deny.
        Assert.Equal(["egress * ANY allow"], t.Entries(Billing));
        Assert.True(t.Policy(Billing).Ingress.Enforced);
    }

    [Fact]
    public void EgressNamedPortsResolveAgainstThePeer()
    {
        var t = Lab(Cnp("fe", "default", Rule(Sel("app=frontend"), egress: [To([Sel("app=billing")], toPorts: [Ports("metrics/TCP")]), To([Sel("app=users")], toPorts: [Ports("metrics")])])));
        Assert.Equal(["egress pod3 9090/TCP allow", "ingress * ANY allow"], t.Entries(Frontend));
    }

    [Fact]
    public void IcmpRulesBecomeTypeKeys()
    {
        var t = Lab(UsersIngress(From([Sel("app=frontend")], icmps: [Icmp("EchoRequest", "0", "IPv6:EchoRequest")])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 0/ICMP allow", "ingress pod1 128/ICMPv6 allow", "ingress pod1 8/ICMP allow"], t.Entries(Users));
    }

    [Fact]
    public void L7RulesRedirectWithTheirEngine()
    {
        var t = Lab(
            UsersIngress(From([Sel("app=frontend")], toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])),
            Cnp("billing", "default", Rule(Sel("app=billing"), ingress: [From([Sel("app=frontend")], toPorts: [Kafka("9092/TCP", new KafkaRule(Role: "produce"))])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 80/TCP redirect:http"], t.Entries(Users));
        Assert.Equal(["egress * ANY allow", "ingress pod1 9092/TCP redirect:kafka"], t.Entries(Billing));
    }

    [Fact]
    public void DenyOfTheSameIdentityRemovesTheAllowItCovers()
    {
        var t = Lab(
            UsersIngress(From([Sel("app=frontend")], toPorts: [Ports("80/TCP")])),
            Cnp("deny", "default", Rule(Sel("app=users"), ingressDeny: [From([Sel("app=frontend")])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 ANY deny"], t.Entries(Users));
    }

    [Fact]
    public void MoreSpecificDenyKeepsTheBroaderAllow()
    {
        var t = Lab(
            UsersIngress(From([Sel("app=frontend")])),
            Cnp("deny", "default", Rule(Sel("app=users"), ingressDeny: [From(toPorts: [Ports("22")])])));
        Assert.Equal(
            ["egress * ANY allow", "ingress * 22/SCTP deny", "ingress * 22/TCP deny", "ingress * 22/UDP deny", "ingress pod1 ANY allow"],
            t.Entries(Users));
        var lookup = t.Policy(Users).Lookup(TrafficDirection.Ingress, t.IdentityOf(Frontend), 6, 22);
        Assert.Equal(PolicyDropReason.PolicyDenyList, lookup.DropReason);
        Assert.True(t.Policy(Users).Lookup(TrafficDirection.Ingress, t.IdentityOf(Frontend), 6, 23).IsAllowed);
    }

    [Fact]
    public void DenyOnlyPolicyEnforcesTheDirection()
    {
        var t = Lab(Cnp("deny", "default", Rule(Sel("app=users"), ingressDeny: [From([Sel("app=frontend")])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 ANY deny"], t.Entries(Users));
        Assert.True(t.Policy(Users).Ingress.Enforced);
        var billing = t.Policy(Users).Lookup(TrafficDirection.Ingress, t.IdentityOf(Billing), 6, 80);
        Assert.Equal(PolicyDropReason.PolicyDenied, billing.DropReason);
    }

    [Fact]
    public void EmptyIngressRuleIsDefaultDenyAllowingNothing()
    {
        var t = Lab(UsersIngress(From()));
        Assert.Equal(["egress * ANY allow"], t.Entries(Users));
        Assert.True(t.Policy(Users).Ingress.Enforced);
    }

    [Fact]
    public void EnableDefaultDenyFalseKeepsTheAllowAllAndAddsRuleEntries()
    {
        var t = Lab(Cnp("soft", "default", Rule(
            Sel("app=users"),
            ingress: [From([Sel("app=frontend")], toPorts: [Ports("80/TCP")])],
            ingressDeny: [From([Sel("app=billing")])],
            defaultDeny: new DefaultDenyConfig(false, null))));
        Assert.Equal(["egress * ANY allow", "ingress * ANY allow", "ingress pod1 80/TCP allow", "ingress pod3 ANY deny"], t.Entries(Users));
        Assert.False(t.Policy(Users).Ingress.Enforced);
        Assert.Empty(t.Policy(Users).Ingress.DefaultDenyBy.ToArray());
    }

    [Fact]
    public void AnotherPolicyWithDefaultDenyStillEnforces()
    {
        var t = Lab(
            Cnp("soft", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")])], defaultDeny: new DefaultDenyConfig(false, null))),
            Cnp("hard", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=billing")], toPorts: [Ports("443/TCP")])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 ANY allow", "ingress pod3 443/TCP allow"], t.Entries(Users));
        Assert.Equal([new PolicyRef("CiliumNetworkPolicy", "default", "hard")], t.Policy(Users).Ingress.DefaultDenyBy.ToArray());
    }

    [Fact]
    public void PortRuleWithoutPeerIsTheWildcardIdentity()
    {
        var t = Lab(UsersIngress(From(toPorts: [Ports("80/TCP")])));
        Assert.Equal(["egress * ANY allow", "ingress * 80/TCP allow"], t.Entries(Users));
    }

    [Fact]
    public void EmptyPeerListSelectsNothingEvenWithPorts()
    {
        var t = Lab(UsersIngress(From([], toPorts: [Ports("80/TCP")])));
        Assert.Equal(["egress * ANY allow"], t.Entries(Users));
    }

    [Fact]
    public void PeersAreScopedToThePolicyNamespaceUnlessTheyNameOne()
    {
        var scoped = Lab(UsersIngress(From([Sel("app=frontend")])));
        Assert.DoesNotContain(scoped.Entries(Users), e => e.Contains("pod4", StringComparison.Ordinal));
        var cross = Lab(UsersIngress(From([Sel("app=frontend", "k8s:io.kubernetes.pod.namespace=prod")])));
        Assert.Equal(["egress * ANY allow", "ingress pod4 ANY allow"], cross.Entries(Users));
        var anyNs = Lab(UsersIngress(From([new EndpointSelector(new Dictionary<string, string> { ["app"] = "frontend" }, [new SelectorRequirement("io.kubernetes.pod.namespace", SelectorOperator.Exists, [])])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 ANY allow", "ingress pod4 ANY allow"], anyNs.Entries(Users));
    }

    [Fact]
    public void EndpointSelectorAlwaysAppliesInThePolicyNamespace()
    {
        var t = Lab(Cnp("x", "default", Rule(Sel("app=frontend", "k8s:io.kubernetes.pod.namespace=prod"), ingress: [From([All])])));
        Assert.True(t.Policy(Frontend).Ingress.Enforced);
        Assert.False(t.Policy(Other).Ingress.Enforced);
    }

    [Fact]
    public void ClusterwidePeerSelectorMatchesEveryPodButNoReservedIdentity()
    {
        var t = Lab(Ccnp("cw", Rule(Sel("app=users"), ingress: [From([All])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 ANY allow", "ingress pod2 ANY allow", "ingress pod3 ANY allow", "ingress pod4 ANY allow"], t.Entries(Users));
    }

    [Fact]
    public void EntitiesMapToReservedIdentities()
    {
        var world = Lab(UsersIngress(From(entities: ["world"])));
        Assert.Equal(["egress * ANY allow", "ingress reserved:world ANY allow", "ingress reserved:world-ipv4 ANY allow", "ingress reserved:world-ipv6 ANY allow"], world.Entries(Users));
        var all = Lab(UsersIngress(From(entities: ["all"])));
        Assert.Equal(["egress * ANY allow", "ingress * ANY allow"], all.Entries(Users));
        Assert.True(all.Policy(Users).Ingress.Enforced);
        var cluster = Lab(UsersIngress(From(entities: ["cluster"])));
        Assert.Equal(
            [
                "egress * ANY allow", "ingress pod1 ANY allow", "ingress pod2 ANY allow", "ingress pod3 ANY allow", "ingress pod4 ANY allow",
                "ingress reserved:health ANY allow", "ingress reserved:host ANY allow", "ingress reserved:ingress ANY allow",
                "ingress reserved:init ANY allow", "ingress reserved:kube-apiserver ANY allow", "ingress reserved:remote-node ANY allow",
                "ingress reserved:unmanaged ANY allow",
            ],
            cluster.Entries(Users));
        var host = Lab(UsersIngress(From(entities: ["host", "none"])));
        Assert.Equal(["egress * ANY allow", "ingress reserved:host ANY allow"], host.Entries(Users));
    }

    [Fact]
    public void CidrRulesSelectCidrIdentitiesAndTheExceptionsStayOut()
    {
        var t = Lab(Cnp("cidr", "default", Rule(Sel("app=frontend"), egress: [To(cidrSet: [CidrSet("192.168.0.0/16", "192.168.1.0/24")], toPorts: [Ports("443/TCP")])])));
        Assert.Equal(["egress cidr:192.168.0.0/16 443/TCP allow", "ingress * ANY allow"], t.Entries(Frontend));
        var fe = t.Policy(Frontend);
        Assert.True(fe.Lookup(TrafficDirection.Egress, t.IpCache.Lookup(System.Net.IPAddress.Parse("192.168.7.7")), 6, 443).IsAllowed);
        Assert.False(fe.Lookup(TrafficDirection.Egress, t.IpCache.Lookup(System.Net.IPAddress.Parse("192.168.1.7")), 6, 443).IsAllowed);
        Assert.False(fe.Lookup(TrafficDirection.Egress, t.IpCache.Lookup(System.Net.IPAddress.Parse("8.8.8.8")), 6, 443).IsAllowed);
    }

    [Fact]
    public void WholeAddressSpaceCidrAlsoSelectsWorld()
    {
        var t = Lab(
            Cnp("cidr", "default", Rule(Sel("app=frontend"), egress: [To(cidr: ["0.0.0.0/0"])])),
            Cnp("other", "default", Rule(Sel("app=billing"), egress: [To(cidr: ["10.9.0.0/16"])])));
        Assert.Equal(["egress cidr:10.9.0.0/16 ANY allow", "egress reserved:world ANY allow", "egress reserved:world-ipv4 ANY allow", "ingress * ANY allow"], t.Entries(Frontend));
    }

    [Fact]
    public void EndpointAddressesAreNotCidrPeers()
    {
        var t = Lab(Cnp("cidr", "default", Rule(Sel("app=frontend"), egress: [To(cidr: ["10.0.0.0/24"])])));
        var users = t.IpCache.Lookup(System.Net.IPAddress.Parse("10.0.0.2"));
        Assert.Equal(t.IdentityOf(Users), users);
        Assert.False(t.Policy(Frontend).Lookup(TrafficDirection.Egress, users, 6, 80).IsAllowed);
        Assert.True(t.Policy(Frontend).Lookup(TrafficDirection.Egress, t.IpCache.Lookup(System.Net.IPAddress.Parse("10.0.0.99")), 6, 80).IsAllowed);
    }

    [Fact]
    public void L4AllowOnAnL7PortKeepsTheRedirectAndWildcardsTheL7Rules()
    {
        var t = Lab(
            UsersIngress(From([Sel("app=frontend")], toPorts: [Http("80/TCP", new HttpRule(Method: "GET"))])),
            Cnp("l4", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Ports("80/TCP")])])));
        Assert.Equal(["egress * ANY allow", "ingress pod1 80/TCP redirect:http"], t.Entries(Users));
        var rules = t.Policy(Users).GetHttpRules(TrafficDirection.Ingress, t.IdentityOf(Frontend), 6, 80)!;
        Assert.True(rules.AllowsAll);
        var key = new PolicyKey(TrafficDirection.Ingress, t.IdentityOf(Frontend).Value, 6, 80, 16);
        Assert.Equal(2, t.Policy(Users).Explain(key).Count);
    }

    [Fact]
    public void UnsupportedPeersAndL7FailClosedWithAWarning()
    {
        var t = new TestRepository();
        t.Add(Frontend, "default", "app=frontend");
        var update = t.Repository.ReplaceAll([Cnp("dns", "default", Rule(Sel("app=frontend"), egress: [To(fqdns: [new FqdnSelector("example.com", null)]), To(entities: ["all"], toPorts: [Dns("53/UDP")])]))]);
        Assert.Equal(["ingress * ANY allow"], t.Entries(Frontend));
        Assert.Equal(2, update.Warnings.Count);
        Assert.Contains(update.Warnings, w => w.FieldPath == "spec.egress[0].toFQDNs");
        Assert.Contains(update.Warnings, w => w.FieldPath == "spec.egress[1].toPorts[0].rules");
    }

    [Fact]
    public void EnforcementModesAlwaysAndNever()
    {
        var always = new TestRepository(new PolicyRepositoryOptions { EnforcementMode = PolicyEnforcementMode.Always });
        always.Add(Users, "default", "app=users");
        Assert.Empty(always.Entries(Users));
        var never = new TestRepository(new PolicyRepositoryOptions { EnforcementMode = PolicyEnforcementMode.Never });
        never.Add(Users, "default", "app=users");
        never.Repository.ReplaceAll([Cnp("deny", "default", Rule(All, ingressDeny: [From(entities: ["all"])]))]);
        Assert.Equal(["egress * ANY allow", "ingress * ANY allow"], never.Entries(Users));
    }

    [Fact]
    public void EntriesCarryTheirPoliciesSorted()
    {
        var t = Lab(
            Cnp("b", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Ports("80/TCP")])])),
            Cnp("a", "default", Rule(Sel("app=users"), ingress: [From([Sel("app=frontend")], toPorts: [Ports("80/TCP")])])));
        var key = new PolicyKey(TrafficDirection.Ingress, t.IdentityOf(Frontend).Value, 6, 80, 16);
        Assert.True(t.Policy(Users).Ingress.TryGetEntry(key, out var entry));
        Assert.Equal(["default/a", "default/b"], entry.DerivedFrom.Select(p => p.QualifiedName));
    }

    [Fact]
    public void BadCidrIsAnErrorNamingTheFieldAndNothingIsApplied()
    {
        var t = Lab(UsersIngress(From([Sel("app=frontend")])));
        var before = t.Entries(Users);
        var revision = t.Repository.Revision;
        var bad = Cnp("bad", "default", Rule(Sel("app=users"), ingress: [From(cidr: ["10.0.0.0/33"])], egress: [To(entities: ["moon"])]));
        var e = Assert.Throws<PolicyCompileException>(() => t.Repository.ReplaceAll([UsersIngress(From(entities: ["world"])), bad]));
        Assert.Equal(["spec.ingress[0].fromCIDR[0]", "spec.egress[0].toEntities[0]"], e.Errors.Select(x => x.FieldPath));
        Assert.Contains("bad.yaml:1:1: spec.egress[0].toEntities[0]: unsupported entity: moon", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, t.Entries(Users));
        Assert.Equal(revision, t.Repository.Revision);
    }
}
