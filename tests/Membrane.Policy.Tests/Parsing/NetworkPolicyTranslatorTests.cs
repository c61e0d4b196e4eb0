using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Parsing;

/// <summary>Kubernetes NetworkPolicy → PolicyRule, as Cilium's <c>pkg/k8s/network_policy.go</c> translates it.</summary>
public sealed class NetworkPolicyTranslatorTests
{
    private static PolicyRule Translate(string spec, string ns = "prod")
    {
        var text = $"""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {"{"}name: knp, namespace: {ns}{"}"}
            spec:
            {spec}
            """;
        var result = PolicyLoader.LoadText(text, "knp.yaml");
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        var policy = Assert.Single(result.Policies);
        Assert.Equal(PolicyKind.NetworkPolicy, policy.Kind);
        return Assert.Single(policy.Rules);
    }

    private static string Selector(EndpointSelector s) =>
        string.Join(",", s.MatchLabels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")
            .Concat(s.MatchExpressions.Select(e => $"{e.Key} {e.Operator} [{string.Join(' ', e.Values)}]")));

    [Fact]
    public void PodSelectorIsScopedToThePolicyNamespaceWithK8sSource()
    {
        var rule = Translate("""
              podSelector:
                matchLabels: {app: db}
                matchExpressions: [{key: tier, operator: In, values: [data]}]
            """);

        Assert.Equal("k8s:app=db,k8s:io.kubernetes.pod.namespace=prod,k8s:tier In [data]", Selector(rule.EndpointSelector!));
        Assert.Equal("spec", rule.FieldPath);
    }

    [Fact]
    public void NoPolicyTypesMeansIngressOnlyWhenNoEgressRules()
    {
        var rule = Translate("  podSelector: {}");

        // Default deny ingress: one empty rule; egress untouched (null).
        Assert.Equal(new IngressRule(null, null, null, null, null, null, null, "spec.ingress"), Assert.Single(rule.Ingress!));
        Assert.Null(rule.Egress);
        Assert.Null(rule.IngressDeny);
    }

    [Fact]
    public void PolicyTypesEgressOnlyDeniesEgressAndLeavesIngress()
    {
        var rule = Translate("""
              podSelector: {}
              policyTypes: [Egress]
            """);

        Assert.Null(rule.Ingress);
        Assert.Equal(new EgressRule(null, null, null, null, null, null, null, null, null, "spec.egress"), Assert.Single(rule.Egress!));
    }

    [Fact]
    public void EgressRulesWithoutPolicyTypesAddEgress()
    {
        var rule = Translate("""
              podSelector: {}
              egress:
              - to: [{podSelector: {matchLabels: {app: dns}}}]
            """);

        Assert.NotNull(rule.Ingress);
        Assert.Equal("k8s:app=dns,k8s:io.kubernetes.pod.namespace=prod", Selector(Assert.Single(Assert.Single(rule.Egress!).ToEndpoints!)));
    }

    [Fact]
    public void EachPeerBecomesItsOwnRuleCarryingThePorts()
    {
        var rule = Translate("""
              podSelector: {}
              ingress:
              - from:
                - podSelector: {matchLabels: {app: api}}
                - namespaceSelector: {matchLabels: {team: a}}
                  podSelector: {matchLabels: {app: web}}
                - namespaceSelector: {}
                - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
                ports:
                - port: 5432
                - {protocol: UDP, port: dns}
                - {port: 8000, endPort: 8100}
                - {}
            """);

        Assert.Equal(4, rule.Ingress!.Count);
        Assert.Equal(["spec.ingress[0].from[0]", "spec.ingress[0].from[1]", "spec.ingress[0].from[2]", "spec.ingress[0].from[3]"], rule.Ingress.Select(r => r.FieldPath));
        Assert.Equal("k8s:app=api,k8s:io.kubernetes.pod.namespace=prod", Selector(Assert.Single(rule.Ingress[0].FromEndpoints!)));
        Assert.Equal("k8s:app=web,k8s:io.cilium.k8s.namespace.labels.team=a", Selector(Assert.Single(rule.Ingress[1].FromEndpoints!)));
        Assert.Equal("k8s:io.kubernetes.pod.namespace Exists []", Selector(Assert.Single(rule.Ingress[2].FromEndpoints!)));
        var cidr = Assert.Single(rule.Ingress[3].FromCidrSet!);
        Assert.Equal("10.0.0.0/8", cidr.Cidr);
        Assert.Equal(["10.1.0.0/16"], cidr.Except);
        Assert.Null(rule.Ingress[3].FromEndpoints);

        foreach (var ingress in rule.Ingress)
        {
            Assert.Equal(
                [new PortProtocol("5432", null, "TCP"), new PortProtocol("dns", null, "UDP"), new PortProtocol("8000", 8100, "TCP"), new PortProtocol("0", null, "TCP")],
                ingress.ToPorts!.Select(p => Assert.Single(p.Ports)));
            Assert.Equal("spec.ingress[0].ports[2]", ingress.ToPorts![2].FieldPath);
        }
    }

    [Fact]
    public void EmptyOrMissingFromMeansEveryPeer()
    {
        var rule = Translate("""
              podSelector: {}
              policyTypes: [Ingress, Egress]
              ingress:
              - {}
              egress:
              - to: []
                ports: [{port: 53, protocol: UDP}]
            """);

        Assert.Equal(["all"], Assert.Single(rule.Ingress!).FromEntities);
        Assert.Null(rule.Ingress![0].ToPorts);
        var egress = Assert.Single(rule.Egress!);
        Assert.Equal(["all"], egress.ToEntities);
        Assert.Equal(new PortProtocol("53", null, "UDP"), Assert.Single(Assert.Single(egress.ToPorts!).Ports));
    }

    [Fact]
    public void NamespaceDefaultsToDefault()
    {
        var result = PolicyLoader.LoadText("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: knp}
            spec: {podSelector: {}}
            """, "knp.yaml");
        Assert.Equal("default", Assert.Single(result.Policies).Namespace);
        Assert.Equal("default", result.Policies[0].Rules[0].EndpointSelector!.MatchLabels["k8s:io.kubernetes.pod.namespace"]);
    }
}
