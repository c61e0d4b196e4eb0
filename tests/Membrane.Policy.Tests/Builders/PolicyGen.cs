using CsCheck;
using Membrane.Policy.Endpoints;
using Membrane.Policy.L7.Http;
using Membrane.Policy.Model;
using static Membrane.Policy.Tests.Builders.Policies;

namespace Membrane.Policy.Tests.Builders;

/// <summary>CsCheck generators of random (valid) policies over a small universe of labels, namespaces and ports.</summary>
internal static class PolicyGen
{
    public static readonly string[] Namespaces = ["default", "prod"];

    public static readonly string[] Apps = ["a", "b", "c"];

    public static readonly string[] Tiers = ["x", "y"];

    /// <summary>Every combination of namespace, app and tier as an endpoint; apps a and b have a port named "web".</summary>
    public static IReadOnlyList<EndpointInfo> Endpoints { get; } = BuildEndpoints();

    /// <summary>The probes: (protocol, port or ICMP type).</summary>
    public static readonly (byte Protocol, ushort Port)[] Probes =
        [(6, 80), (17, 80), (132, 80), (6, 53), (17, 53), (6, 8080), (6, 9090), (6, 8050), (6, 443), (6, 1), (1, 8), (1, 0)];

    public static readonly Gen<EndpointSelector> Selector = Gen.OneOf(
        Sel("app=a"), Sel("app=b"), Sel("tier=x"), Sel("k8s:app=c"), All, Sel("any:tier=y"),
        Expr("app", SelectorOperator.NotIn, "a"), Expr("tier", SelectorOperator.Exists),
        Expr("app", SelectorOperator.In, "b", "c"), Expr("tier", SelectorOperator.DoesNotExist),
        Sel("app=a", "k8s:io.kubernetes.pod.namespace=prod"), Expr("io.kubernetes.pod.namespace", SelectorOperator.Exists),
        Sel("reserved:host"));

    public static readonly Gen<string[]> Entities = Gen.OneOf<string[]>(["all"], ["world"], ["cluster"], ["host"], ["world", "host"], ["none"]);

    public static readonly Gen<PortProtocol> Port = Gen.OneOf(
        new PortProtocol("80", null, "TCP"), new PortProtocol("80", null, ""), new PortProtocol("53", null, "UDP"),
        new PortProtocol("8000", 8100, "TCP"), new PortProtocol("0", null, "TCP"), new PortProtocol("web", null, "TCP"),
        new PortProtocol("443", null, "TCP"), new PortProtocol("80", null, "SCTP"), new PortProtocol("1", 1023, "ANY"));

    public static readonly Gen<IReadOnlyList<HttpRule>?> HttpRules = Gen.OneOf<IReadOnlyList<HttpRule>?>(
        null, null, [new HttpRule(Method: "GET")], [new HttpRule(Method: "POST")], [new HttpRule(Method: "GET"), new HttpRule(Path: "/x")]);

    public static Gen<PortRule> PortRuleGen(bool deny) =>
        Gen.Select(Port.Array[1, 2], deny ? Gen.Const((IReadOnlyList<HttpRule>?)null) : HttpRules, (ports, http) =>
            new PortRule(
                ports,
                // L7 rules apply only to TCP ports other than 0 (Cilium validation).
                http is not null && ports.All(p => p.Protocol == "TCP" && p.Port != "0") ? new L7Rules(http, null, null, null, null) : null,
                null,
                ""));

    public static Gen<IngressRule> IngressGen(bool deny) =>
        Gen.Select(
            Gen.Frequency((3, Selector.Array[0, 2].Select(a => (EndpointSelector[]?)a)), (2, Gen.Const((EndpointSelector[]?)null))),
            Gen.Frequency((1, Entities.Select(e => (string[]?)e)), (4, Gen.Const((string[]?)null))),
            Gen.Frequency((3, PortRuleGen(deny).Array[1, 2].Select(a => (PortRule[]?)a)), (2, Gen.Const((PortRule[]?)null))),
            Gen.Frequency((1, Gen.Const((IcmpRule[]?)[Icmp("8")])), (5, Gen.Const((IcmpRule[]?)null))),
            (endpoints, entities, ports, icmps) => From(endpoints, entities: entities, toPorts: ports, icmps: ports is null ? icmps : null));

    public static Gen<EgressRule> EgressGen(bool deny) =>
        IngressGen(deny).Select(i => To(i.FromEndpoints?.ToArray(), entities: i.FromEntities?.ToArray(), toPorts: i.ToPorts?.ToArray(), icmps: i.Icmps?.ToArray()));

    public static readonly Gen<DefaultDenyConfig?> DefaultDeny = Gen.Frequency(
        (5, Gen.Const((DefaultDenyConfig?)null)),
        (1, Gen.Const((DefaultDenyConfig?)new DefaultDenyConfig(false, null))),
        (1, Gen.Const((DefaultDenyConfig?)new DefaultDenyConfig(null, false))),
        (1, Gen.Const((DefaultDenyConfig?)new DefaultDenyConfig(false, true))));

    private static Gen<T[]?> Optional<T>(Gen<T> gen, int max) =>
        Gen.Frequency((3, gen.Array[0, max].Select(a => (T[]?)a)), (2, Gen.Const((T[]?)null)));

    public static readonly Gen<PolicyRule> RuleGen = Gen.Select(
        Selector,
        Optional(IngressGen(false), 2),
        Optional(IngressGen(true), 1),
        Optional(EgressGen(false), 2),
        Optional(EgressGen(true), 1),
        DefaultDeny,
        (subject, ingress, ingressDeny, egress, egressDeny, dd) =>
            Rule(subject, ingress, ingressDeny, egress, egressDeny, dd))
        .Where(r => (r.Ingress?.Count ?? 0) + (r.IngressDeny?.Count ?? 0) + (r.Egress?.Count ?? 0) + (r.EgressDeny?.Count ?? 0) > 0);

    /// <summary>A policy shape: kind (0 default, 1 prod, 2 cluster-wide) and one or two rules.</summary>
    public static readonly Gen<(int Kind, PolicyRule[] Rules)> PolicyShape = Gen.Select(Gen.Int[0, 2], RuleGen.Array[1, 2]);

    /// <summary>One to four policies named p0, p1, ...</summary>
    public static readonly Gen<PolicyResource[]> PolicySet =
        PolicyShape.Array[1, 4].Select(shapes => shapes.Select((s, i) => Make($"p{i}", s)).ToArray());

    public static PolicyResource Make(string name, (int Kind, PolicyRule[] Rules) shape) =>
        shape.Kind == 2 ? Ccnp(name, shape.Rules) : Cnp(name, Namespaces[shape.Kind], shape.Rules);

    private static List<EndpointInfo> BuildEndpoints()
    {
        var list = new List<EndpointInfo>();
        ushort id = 1;
        foreach (var ns in Namespaces)
        {
            foreach (var app in Apps)
            {
                foreach (var tier in Tiers)
                {
                    NamedPort[] named = app switch
                    {
                        "a" => [new NamedPort("web", 8080, 6)],
                        "b" => [new NamedPort("web", 9090, 6)],
                        _ => [],
                    };
                    list.Add(Endpoint(id++, ns, $"app={app},tier={tier}", $"10.1.{id}.1", named));
                }
            }
        }

        return list;
    }
}
