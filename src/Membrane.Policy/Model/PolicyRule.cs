using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;

namespace Membrane.Policy.Model;

// The CiliumNetworkPolicy rule schema (reference §1, Cilium 1.19 pkg/policy/api). Lists are null when the field was
// absent and empty when it was written empty: Cilium gives the two different meanings (reference §1.3, "nil vs
// empty"). Field paths in errors use the YAML names given in each doc comment.

/// <summary>A <c>spec</c> (or <c>specs[i]</c>) rule.</summary>
/// <param name="EndpointSelector"><c>endpointSelector</c>: the endpoints the rule applies to.</param>
/// <param name="NodeSelector"><c>nodeSelector</c>: nodes (host policies; CCNP only).</param>
/// <param name="Ingress"><c>ingress</c> allow rules.</param>
/// <param name="IngressDeny"><c>ingressDeny</c> deny rules.</param>
/// <param name="Egress"><c>egress</c> allow rules.</param>
/// <param name="EgressDeny"><c>egressDeny</c> deny rules.</param>
/// <param name="EnableDefaultDeny"><c>enableDefaultDeny</c>.</param>
/// <param name="Description"><c>description</c> (not interpreted).</param>
/// <param name="Labels"><c>labels</c> (rule metadata).</param>
/// <param name="Log"><c>log.value</c>, carried into flows as <c>policy_log</c>.</param>
/// <param name="FieldPath">Path of this rule in its resource: <c>spec</c> or <c>specs[i]</c>.</param>
public sealed record PolicyRule(
    EndpointSelector? EndpointSelector,
    EndpointSelector? NodeSelector,
    IReadOnlyList<IngressRule>? Ingress,
    IReadOnlyList<IngressRule>? IngressDeny,
    IReadOnlyList<EgressRule>? Egress,
    IReadOnlyList<EgressRule>? EgressDeny,
    DefaultDenyConfig? EnableDefaultDeny,
    string? Description,
    IReadOnlyList<Label>? Labels,
    string? Log,
    string FieldPath);

/// <summary><c>enableDefaultDeny</c>: null per direction means "true if the rule has rules in that direction".</summary>
/// <param name="Ingress"><c>enableDefaultDeny.ingress</c>.</param>
/// <param name="Egress"><c>enableDefaultDeny.egress</c>.</param>
public sealed record DefaultDenyConfig(bool? Ingress, bool? Egress);

/// <summary>A Kubernetes label selector (<c>matchLabels</c> + <c>matchExpressions</c>). Keys keep their source
/// prefix as written (<c>k8s:app</c>, <c>any:app</c>, <c>app</c>); an empty selector (<c>{}</c>) selects everything in scope.</summary>
/// <param name="MatchLabels"><c>matchLabels</c>.</param>
/// <param name="MatchExpressions"><c>matchExpressions</c>.</param>
public sealed record EndpointSelector(
    IReadOnlyDictionary<string, string> MatchLabels,
    IReadOnlyList<SelectorRequirement> MatchExpressions)
{
    /// <summary>The selector <c>{}</c>.</summary>
    public static EndpointSelector All { get; } = new(new Dictionary<string, string>(), []);
}

/// <summary>Operators of <c>matchExpressions</c>.</summary>
public enum SelectorOperator
{
    /// <summary><c>In</c>.</summary>
    In,

    /// <summary><c>NotIn</c>.</summary>
    NotIn,

    /// <summary><c>Exists</c>.</summary>
    Exists,

    /// <summary><c>DoesNotExist</c>.</summary>
    DoesNotExist,
}

/// <summary>One <c>matchExpressions[]</c> entry.</summary>
/// <param name="Key"><c>key</c> (with optional source prefix).</param>
/// <param name="Operator"><c>operator</c>.</param>
/// <param name="Values"><c>values</c>.</param>
public sealed record SelectorRequirement(string Key, SelectorOperator Operator, IReadOnlyList<string> Values);

/// <summary>
/// An ingress or ingressDeny rule (peer fields named <c>from*</c>). For deny rules <see cref="PortRule.Rules"/> is
/// always null (PortDenyRule has no L7).
/// </summary>
/// <param name="FromEndpoints"><c>fromEndpoints</c>.</param>
/// <param name="FromCidr"><c>fromCIDR</c>.</param>
/// <param name="FromCidrSet"><c>fromCIDRSet</c>.</param>
/// <param name="FromEntities"><c>fromEntities</c>.</param>
/// <param name="FromNodes"><c>fromNodes</c>.</param>
/// <param name="ToPorts"><c>toPorts</c>.</param>
/// <param name="Icmps"><c>icmps</c>.</param>
/// <param name="FieldPath">e.g. <c>spec.ingress[0]</c>.</param>
public sealed record IngressRule(
    IReadOnlyList<EndpointSelector>? FromEndpoints,
    IReadOnlyList<string>? FromCidr,
    IReadOnlyList<CidrRule>? FromCidrSet,
    IReadOnlyList<string>? FromEntities,
    IReadOnlyList<EndpointSelector>? FromNodes,
    IReadOnlyList<PortRule>? ToPorts,
    IReadOnlyList<IcmpRule>? Icmps,
    string FieldPath);

/// <summary>An egress or egressDeny rule (peer fields named <c>to*</c>).</summary>
/// <param name="ToEndpoints"><c>toEndpoints</c>.</param>
/// <param name="ToCidr"><c>toCIDR</c>.</param>
/// <param name="ToCidrSet"><c>toCIDRSet</c>.</param>
/// <param name="ToEntities"><c>toEntities</c>.</param>
/// <param name="ToNodes"><c>toNodes</c>.</param>
/// <param name="ToServices"><c>toServices</c>.</param>
/// <param name="ToFqdns"><c>toFQDNs</c> (allow rules only).</param>
/// <param name="ToPorts"><c>toPorts</c>.</param>
/// <param name="Icmps"><c>icmps</c>.</param>
/// <param name="FieldPath">e.g. <c>spec.egress[1]</c>.</param>
public sealed record EgressRule(
    IReadOnlyList<EndpointSelector>? ToEndpoints,
    IReadOnlyList<string>? ToCidr,
    IReadOnlyList<CidrRule>? ToCidrSet,
    IReadOnlyList<string>? ToEntities,
    IReadOnlyList<EndpointSelector>? ToNodes,
    IReadOnlyList<ServiceSelector>? ToServices,
    IReadOnlyList<FqdnSelector>? ToFqdns,
    IReadOnlyList<PortRule>? ToPorts,
    IReadOnlyList<IcmpRule>? Icmps,
    string FieldPath);

/// <summary>One <c>fromCIDRSet[]</c>/<c>toCIDRSet[]</c> entry: exactly one of cidr / cidrGroupRef / cidrGroupSelector.</summary>
/// <param name="Cidr"><c>cidr</c>.</param>
/// <param name="CidrGroupRef"><c>cidrGroupRef</c>.</param>
/// <param name="CidrGroupSelector"><c>cidrGroupSelector</c>.</param>
/// <param name="Except"><c>except</c>: prefixes inside <paramref name="Cidr"/> that are excluded.</param>
public sealed record CidrRule(string? Cidr, string? CidrGroupRef, EndpointSelector? CidrGroupSelector, IReadOnlyList<string> Except);

/// <summary>One <c>toServices[]</c> entry.</summary>
/// <param name="ServiceName"><c>k8sService.serviceName</c>.</param>
/// <param name="Namespace"><c>k8sService.namespace</c> or <c>k8sServiceSelector.namespace</c>.</param>
/// <param name="Selector"><c>k8sServiceSelector.selector</c>.</param>
public sealed record ServiceSelector(string? ServiceName, string? Namespace, EndpointSelector? Selector);

/// <summary>One <c>toFQDNs[]</c> entry: exactly one of matchName / matchPattern.</summary>
/// <param name="MatchName"><c>matchName</c>.</param>
/// <param name="MatchPattern"><c>matchPattern</c>.</param>
public sealed record FqdnSelector(string? MatchName, string? MatchPattern);

/// <summary>One <c>toPorts[]</c> entry (Cilium's PortRule).</summary>
/// <param name="Ports"><c>ports</c> (at most 40).</param>
/// <param name="Rules"><c>rules</c>: L7 rules, or null.</param>
/// <param name="ServerNames"><c>serverNames</c>.</param>
/// <param name="FieldPath">e.g. <c>spec.ingress[0].toPorts[0]</c>.</param>
public sealed record PortRule(
    IReadOnlyList<PortProtocol> Ports,
    L7Rules? Rules,
    IReadOnlyList<string>? ServerNames,
    string FieldPath);

/// <summary>One <c>ports[]</c> entry.</summary>
/// <param name="Port"><c>port</c>: a number (0 = any) or an IANA service name resolved against named ports.</param>
/// <param name="EndPort"><c>endPort</c> for a range, or null.</param>
/// <param name="Protocol"><c>protocol</c>: TCP, UDP, SCTP or ANY (empty = ANY).</param>
public sealed record PortProtocol(string Port, int? EndPort, string Protocol);

/// <summary><c>rules</c>: a union, one L7 type per port rule.</summary>
/// <param name="Http"><c>http</c>.</param>
/// <param name="Kafka"><c>kafka</c>.</param>
/// <param name="Dns"><c>dns</c> (matchName/matchPattern), egress only.</param>
/// <param name="L7Proto"><c>l7proto</c>.</param>
/// <param name="L7"><c>l7</c> generic key/value rules.</param>
public sealed record L7Rules(
    IReadOnlyList<HttpRule>? Http,
    IReadOnlyList<KafkaRule>? Kafka,
    IReadOnlyList<FqdnSelector>? Dns,
    string? L7Proto,
    IReadOnlyList<IReadOnlyDictionary<string, string>>? L7);

/// <summary>One <c>icmps[]</c> entry.</summary>
/// <param name="Fields"><c>fields</c> (at most 40).</param>
public sealed record IcmpRule(IReadOnlyList<IcmpField> Fields);

/// <summary>One <c>icmps[].fields[]</c> entry.</summary>
/// <param name="Family"><c>family</c>: IPv4 (default) or IPv6.</param>
/// <param name="Type"><c>type</c>: 0–255 or a CamelCase name (EchoRequest, ...).</param>
public sealed record IcmpField(string Family, string Type);
