using System.Net;
using Membrane.Policy.Endpoints;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;

namespace Membrane.Policy.Tests.Builders;

/// <summary>Builds policy model records in C# (what the parser produces from YAML), with field paths filled in.</summary>
internal static class Policies
{
    public static PolicyResource Cnp(string name, string ns, params PolicyRule[] rules) =>
        Resource(PolicyKind.CiliumNetworkPolicy, name, ns, rules);

    public static PolicyResource Ccnp(string name, params PolicyRule[] rules) =>
        Resource(PolicyKind.CiliumClusterwideNetworkPolicy, name, null, rules);

    public static PolicyRule Rule(
        EndpointSelector? subject,
        IngressRule[]? ingress = null,
        IngressRule[]? ingressDeny = null,
        EgressRule[]? egress = null,
        EgressRule[]? egressDeny = null,
        DefaultDenyConfig? defaultDeny = null) =>
        new(subject, null, ingress, ingressDeny, egress, egressDeny, defaultDeny, null, null, null, "");

    /// <summary>matchLabels from <c>key=value</c> strings (keys may carry a source: <c>k8s:app=x</c>).</summary>
    public static EndpointSelector Sel(params string[] labels) =>
        new(labels.Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : ""), []);

    public static EndpointSelector Expr(string key, SelectorOperator op, params string[] values) =>
        new(new Dictionary<string, string>(), [new SelectorRequirement(key, op, values)]);

    public static EndpointSelector All => EndpointSelector.All;

    public static IngressRule From(
        EndpointSelector[]? endpoints = null,
        string[]? cidr = null,
        CidrRule[]? cidrSet = null,
        string[]? entities = null,
        PortRule[]? toPorts = null,
        IcmpRule[]? icmps = null) =>
        new(endpoints, cidr, cidrSet, entities, null, toPorts, icmps, "");

    public static EgressRule To(
        EndpointSelector[]? endpoints = null,
        string[]? cidr = null,
        CidrRule[]? cidrSet = null,
        string[]? entities = null,
        PortRule[]? toPorts = null,
        IcmpRule[]? icmps = null,
        FqdnSelector[]? fqdns = null) =>
        new(endpoints, cidr, cidrSet, entities, null, null, fqdns, toPorts, icmps, "");

    public static CidrRule CidrSet(string cidr, params string[] except) => new(cidr, null, null, except);

    /// <summary>Ports as <c>80/TCP</c>, <c>8080-8090/TCP</c>, <c>http/TCP</c>, or <c>53</c> (protocol ANY).</summary>
    public static PortRule Ports(params string[] ports) => new([.. ports.Select(ParsePort)], null, null, "");

    public static PortRule Http(string port, params HttpRule[] rules) =>
        new([ParsePort(port)], new L7Rules(rules, null, null, null, null), null, "");

    public static PortRule Kafka(string port, params KafkaRule[] rules) =>
        new([ParsePort(port)], new L7Rules(null, rules, null, null, null), null, "");

    public static PortRule Dns(string port) =>
        new([ParsePort(port)], new L7Rules(null, null, [new FqdnSelector("example.com", null)], null, null), null, "");

    /// <summary>ICMP types: <c>8</c>, <c>EchoRequest</c>, or <c>IPv6:EchoRequest</c>.</summary>
    public static IcmpRule Icmp(params string[] types) =>
        new([.. types.Select(t => t.Contains(':', StringComparison.Ordinal) ? new IcmpField(t.Split(':')[0], t.Split(':')[1]) : new IcmpField("", t))]);

    public static EndpointInfo Endpoint(ushort id, string ns, string labels, string? ip = null, params NamedPort[] namedPorts) =>
        new(id, $"pod{id}", ns, LabelSet.Parse(labels), ip is null ? null : IPAddress.Parse(ip), namedPorts);

    private static PortProtocol ParsePort(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var port = slash < 0 ? text : text[..slash];
        var proto = slash < 0 ? "" : text[(slash + 1)..];
        var dash = port.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && char.IsAsciiDigit(port[0])
            ? new PortProtocol(port[..dash], int.Parse(port[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture), proto)
            : new PortProtocol(port, null, proto);
    }

    private static PolicyResource Resource(PolicyKind kind, string name, string? ns, PolicyRule[] rules)
    {
        var withPaths = rules.Select((r, i) =>
        {
            var path = rules.Length == 1 ? "spec" : $"specs[{i}]";
            return r with
            {
                FieldPath = path,
                Ingress = r.Ingress?.Select((x, j) => Ingress(x, $"{path}.ingress[{j}]")).ToList(),
                IngressDeny = r.IngressDeny?.Select((x, j) => Ingress(x, $"{path}.ingressDeny[{j}]")).ToList(),
                Egress = r.Egress?.Select((x, j) => Egress(x, $"{path}.egress[{j}]")).ToList(),
                EgressDeny = r.EgressDeny?.Select((x, j) => Egress(x, $"{path}.egressDeny[{j}]")).ToList(),
            };
        }).ToList();
        return new PolicyResource(kind, name, ns, withPaths, new SourceLocation($"{name}.yaml", 1, 1), new Dictionary<string, SourceLocation>());
    }

    private static IngressRule Ingress(IngressRule r, string path) =>
        r with { FieldPath = path, ToPorts = r.ToPorts?.Select((p, k) => p with { FieldPath = $"{path}.toPorts[{k}]" }).ToList() };

    private static EgressRule Egress(EgressRule r, string path) =>
        r with { FieldPath = path, ToPorts = r.ToPorts?.Select((p, k) => p with { FieldPath = $"{path}.toPorts[{k}]" }).ToList() };
}
