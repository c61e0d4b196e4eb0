using System.Net;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;

namespace Membrane.Benchmarks.Policy;

/// <summary>
/// A synthetic cluster at the scale of the policy bars: 100 namespaces, 10,000 pod identities (50 apps × up to 2
/// tiers per namespace) and 1,000 CiliumNetworkPolicies (10 per namespace) mixing L3, L4 port ranges, HTTP rules,
/// cross-namespace peers, entities, CIDRs with exceptions and deny rules. Deterministic for a given seed.
/// </summary>
internal static class PolicyScale
{
    public const int Namespaces = 100;
    public const int AppsPerNamespace = 50;
    public const int Identities = 10_000;
    public const int Policies = 1_000;

    public static string Namespace(int i) => $"ns{i:D3}";

    /// <summary>The label set of identity <paramref name="i"/> (0–9,999).</summary>
    public static LabelSet IdentityLabels(int i)
    {
        var ns = i % Namespaces;
        var app = i / Namespaces % AppsPerNamespace;
        var tier = i / (Namespaces * AppsPerNamespace) == 0 ? "web" : "db";
        return new EndpointInfo(0, "x", Namespace(ns), LabelSet.Parse($"app=app{app},tier={tier}"), null, []).IdentityLabels;
    }

    /// <summary><paramref name="count"/> local endpoints spread over the namespaces, with addresses and a named port.</summary>
    public static IReadOnlyList<EndpointInfo> Endpoints(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new EndpointInfo(
            (ushort)(i + 1),
            $"pod{i}",
            Namespace(i % Namespaces),
            LabelSet.Parse($"app=app{i / Namespaces % AppsPerNamespace},tier={(i / (Namespaces * AppsPerNamespace) == 0 ? "web" : "db")}"),
            new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]),
            [new NamedPort("http", 8080, 6)]))];

    public static IReadOnlyList<PolicyResource> PolicySet()
    {
        var random = new Random(42);
        var list = new List<PolicyResource>(Policies);
        for (var p = 0; p < Policies; p++)
        {
            var ns = Namespace(p % Namespaces);
            var subject = Sel($"app=app{random.Next(AppsPerNamespace)}");
            var ingress = new List<IngressRule>();
            var egress = new List<EgressRule>();
            IReadOnlyList<IngressRule>? ingressDeny = null;
            switch (p % 10)
            {
                case 0:
                    ingress.Add(new IngressRule([Sel($"app=app{random.Next(AppsPerNamespace)}")], null, null, null, null,
                        [Port("80", null, "TCP", [new HttpRule("GET", "/api/v1/items/?.*"), new HttpRule("POST", "/api/v1/orders")])], null, "spec.ingress[0]"));
                    break;
                case 1:
                    ingress.Add(new IngressRule([Sel($"app=app{random.Next(AppsPerNamespace)}", $"k8s:io.kubernetes.pod.namespace={Namespace(random.Next(Namespaces))}")], null, null, null, null,
                        [Port("8000", 8099, "TCP", null)], null, "spec.ingress[0]"));
                    break;
                case 2:
                    ingress.Add(new IngressRule([Sel("tier=web")], null, null, null, null, [Port("http", null, "TCP", null)], null, "spec.ingress[0]"));
                    break;
                case 3:
                    egress.Add(new EgressRule(null, null, [new CidrRule($"10.{p % 200}.0.0/16", null, null, [$"10.{p % 200}.{random.Next(256)}.0/24"])], null, null, null, null,
                        [Port("443", null, "TCP", null)], null, "spec.egress[0]"));
                    break;
                case 4:
                    egress.Add(new EgressRule(null, null, null, ["world"], null, null, null, [Port("443", null, "TCP", null)], null, "spec.egress[0]"));
                    egress.Add(new EgressRule([EndpointSelector.All], null, null, null, null, null, null, [Port("53", null, "UDP", null)], null, "spec.egress[1]"));
                    break;
                case 5:
                    ingressDeny = [new IngressRule([Sel($"app=app{random.Next(AppsPerNamespace)}")], null, null, null, null, null, null, "spec.ingressDeny[0]")];
                    ingress.Add(new IngressRule([EndpointSelector.All], null, null, null, null, null, null, "spec.ingress[0]"));
                    break;
                case 6:
                    ingress.Add(new IngressRule(null, null, null, ["cluster"], null, [Port("9090", null, "TCP", null)], null, "spec.ingress[0]"));
                    break;
                case 7:
                    ingress.Add(new IngressRule([new EndpointSelector(new Dictionary<string, string>(), [new SelectorRequirement("app", SelectorOperator.In, [$"app{random.Next(AppsPerNamespace)}", $"app{random.Next(AppsPerNamespace)}"])])],
                        null, null, null, null, [Port("5432", null, "TCP", null)], null, "spec.ingress[0]"));
                    break;
                case 8:
                    egress.Add(new EgressRule([Sel($"app=app{random.Next(AppsPerNamespace)}")], null, null, null, null, null, null,
                        [Port("9092", null, "TCP", null, [new Membrane.Policy.L7.Kafka.KafkaRule(Role: "produce", Topic: $"topic{p}")])], null, "spec.egress[0]"));
                    break;
                default:
                    ingress.Add(new IngressRule(null, null, null, null, null, [Port("8443", null, "TCP", null)], null, "spec.ingress[0]"));
                    break;
            }

            var rule = new PolicyRule(subject, null, ingress.Count > 0 ? ingress : null, ingressDeny, egress.Count > 0 ? egress : null, null, null, null, null, null, "spec");
            list.Add(new PolicyResource(PolicyKind.CiliumNetworkPolicy, $"policy-{p}", ns, [rule], new SourceLocation($"policy-{p}.yaml", 1, 1), new Dictionary<string, SourceLocation>()));
        }

        return list;
    }

    /// <summary>A repository holding the identities and endpoints (no policies yet).</summary>
    public static PolicyRepository Repository(int endpoints)
    {
        var repository = new PolicyRepository(new LocalIdentityAllocator(), new InMemoryIpCache());
        for (var i = 0; i < Identities; i++)
        {
            repository.UpsertIdentity(new NumericIdentity((uint)(100_000 + i)), IdentityLabels(i));
        }

        foreach (var e in Endpoints(endpoints))
        {
            repository.UpsertEndpoint(e);
        }

        return repository;
    }

    private static EndpointSelector Sel(params string[] labels) =>
        new(labels.Select(l => l.Split('=', 2)).ToDictionary(x => x[0], x => x[1]), []);

    private static PortRule Port(string port, int? end, string protocol, IReadOnlyList<HttpRule>? http, IReadOnlyList<Membrane.Policy.L7.Kafka.KafkaRule>? kafka = null) =>
        new([new PortProtocol(port, end, protocol)], http is null && kafka is null ? null : new L7Rules(http, kafka, null, null, null), null, "spec.ingress[0].toPorts[0]");
}
