using Membrane.Policy.Endpoints;
using Membrane.Policy.Parsing;
using Membrane.Policy.Tests.Builders;

namespace Membrane.Policy.Tests.Repository;

/// <summary>Table tests from YAML through the real parser: policy text in, expected map state of one endpoint out.</summary>
public sealed class YamlTableTests
{
    // Endpoint ids: 1 frontend, 2 users (named port http=8080/TCP), 3 billing, 4 frontend in namespace prod.
    public static TheoryData<string, string, string[]> Cases => new()
    {
        {
            "cross-namespace peer, endPort range",
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: users, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: users}}
              ingress:
              - fromEndpoints:
                - matchLabels: {app: frontend, k8s:io.kubernetes.pod.namespace: prod}
                toPorts:
                - ports: [{port: "8000", endPort: 8003, protocol: TCP}]
            """,
            ["egress * ANY allow", "ingress pod4 8000-8003/TCP allow"]
        },
        {
            "named port, ICMP, deny beats allow",
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: users, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: users}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: frontend}}]
                toPorts: [{ports: [{port: http, protocol: TCP}]}]
              - fromEndpoints: [{matchLabels: {app: billing}}]
                icmps: [{fields: [{type: EchoRequest}]}]
              - fromEndpoints: [{matchLabels: {app: billing}}]
                toPorts: [{ports: [{port: "443", protocol: TCP}]}]
              ingressDeny:
              - fromEndpoints: [{matchLabels: {app: billing}}]
                toPorts: [{ports: [{port: "0", protocol: TCP}]}]
            """,
            ["egress * ANY allow", "ingress pod1 8080/TCP allow", "ingress pod3 8/ICMP allow", "ingress pod3 TCP deny"]
        },
        {
            "enableDefaultDeny false with L7 keeps allow-all",
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: audit, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: users}}
              enableDefaultDeny: {ingress: false}
              ingress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules: {http: [{method: GET}]}
            """,
            ["egress * ANY allow", "ingress * 80/TCP redirect:http", "ingress * ANY allow"]
        },
        {
            "clusterwide policy, entities and CIDR with except",
            """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: egress-lockdown}
            spec:
              endpointSelector: {matchLabels: {app: users}}
              egress:
              - toEntities: [kube-apiserver]
              - toCIDRSet:
                - cidr: 172.16.0.0/12
                  except: [172.16.5.0/24]
                toPorts: [{ports: [{port: "5432"}]}]
              - toEndpoints: [{}]
                toPorts: [{ports: [{port: "53", protocol: UDP}]}]
            """,
            [
                "egress cidr:172.16.0.0/12 5432/SCTP allow", "egress cidr:172.16.0.0/12 5432/TCP allow", "egress cidr:172.16.0.0/12 5432/UDP allow",
                "egress pod1 53/UDP allow", "egress pod2 53/UDP allow", "egress pod3 53/UDP allow", "egress pod4 53/UDP allow",
                "egress reserved:kube-apiserver ANY allow", "ingress * ANY allow",
            ]
        },
        {
            "kubernetes NetworkPolicy",
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: users, namespace: default}
            spec:
              podSelector: {matchLabels: {app: users}}
              policyTypes: [Ingress]
              ingress:
              - from:
                - podSelector: {matchLabels: {app: billing}}
                ports:
                - {port: 8080, protocol: TCP}
            """,
            ["egress * ANY allow", "ingress pod3 8080/TCP allow"]
        },
        {
            "specs list and kafka",
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: two, namespace: default}
            specs:
            - endpointSelector: {matchLabels: {app: users}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: billing}}]
                toPorts:
                - ports: [{port: "9092", protocol: TCP}]
                  rules: {kafka: [{role: produce, topic: payments}]}
            - endpointSelector: {matchLabels: {app: users}}
              egressDeny:
              - toEntities: [world]
            """,
            [
                "egress reserved:world ANY deny", "egress reserved:world-ipv4 ANY deny", "egress reserved:world-ipv6 ANY deny",
                "ingress pod3 9092/TCP redirect:kafka",
            ]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PolicyTextGivesTheExpectedMapStateOfUsers(string name, string yaml, string[] expected)
    {
        var loaded = PolicyLoader.LoadText(yaml, name + ".yaml");
        Assert.True(loaded.IsValid, string.Join(Environment.NewLine, loaded.Errors));
        var t = new TestRepository();
        t.Add(1, "default", "app=frontend", "10.0.0.1");
        t.Add(2, "default", "app=users", "10.0.0.2", new NamedPort("http", 8080, 6));
        t.Add(3, "default", "app=billing", "10.0.0.3");
        t.Add(4, "prod", "app=frontend", "10.0.0.4");
        t.Repository.ReplaceAll(loaded.Policies);
        Assert.Equal(expected, t.Entries(2));
    }
}
