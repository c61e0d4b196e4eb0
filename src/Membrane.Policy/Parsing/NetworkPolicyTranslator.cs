using Membrane.Policy.Model;
using Membrane.Policy.Validation;

namespace Membrane.Policy.Parsing;

/// <summary>
/// Translates a Kubernetes <c>networking.k8s.io/v1</c> NetworkPolicy onto one <see cref="PolicyRule"/> the way
/// Cilium does (<c>pkg/k8s/network_policy.go</c> <c>ParseNetworkPolicy</c>, <c>parseNetworkPolicyPeer</c>,
/// <c>parsePorts</c>):
/// <list type="bullet">
/// <item>selector keys get the <c>k8s:</c> source; <c>namespaceSelector</c> keys become
/// <c>k8s:io.cilium.k8s.namespace.labels.&lt;key&gt;</c>, an empty namespaceSelector becomes
/// <c>k8s:io.kubernetes.pod.namespace Exists</c> (all namespaces), and a peer with both selectors is one selector
/// holding both; a podSelector alone gets <c>k8s:io.kubernetes.pod.namespace=&lt;policy namespace&gt;</c>, as does
/// <c>spec.podSelector</c>;</item>
/// <item>each <c>from</c>/<c>to</c> peer becomes its own ingress/egress rule (ipBlock → <c>fromCIDRSet</c>), carrying
/// the Kubernetes rule's ports; an empty or missing <c>from</c>/<c>to</c> means every peer, written as the entity
/// <c>all</c> (Cilium uses an unscoped wildcard selector, which is what <c>all</c> is);</item>
/// <item>each port becomes its own port rule, protocol defaulting to TCP, a missing port meaning 0 (all), with
/// <c>endPort</c> (which Cilium once dropped silently, cilium/cilium#28684);</item>
/// <item><c>policyTypes</c> decides which directions exist; when it is absent, Ingress always and Egress when
/// egress rules are written (Kubernetes defaulting). A direction with no rules is written as one empty rule,
/// which puts the endpoint in default deny for it.</item>
/// </list>
/// Field paths in the model point at the Kubernetes fields (<c>spec.ingress[0].from[1]</c>, <c>spec.egress[0].ports[0]</c>).
/// </summary>
internal sealed class NetworkPolicyTranslator(DocumentContext context, CiliumRuleReader selectors)
{
    private const string PodNamespaceLabel = "k8s:io.kubernetes.pod.namespace";
    private const string NamespaceLabelsPrefix = "k8s:io.cilium.k8s.namespace.labels.";

    public PolicyRule? Translate(Fields envelope, string policyNamespace)
    {
        if (!envelope.Has("spec"))
        {
            context.Error(envelope.Location, "spec", "required field is missing");
            return null;
        }

        var spec = envelope.Object("spec", PolicySchemas.KnpSpec);
        if (spec is null)
        {
            return null;
        }

        spec.Require("podSelector");
        var podSelector = selectors.ReadSelector(spec.Value("podSelector"), spec.PathOf("podSelector"));
        var types = ReadPolicyTypes(spec);

        var ingressRules = spec.List("ingress", (n, p) => ReadIngress(n, p, policyNamespace));
        var egressRules = spec.List("egress", (n, p) => ReadEgress(n, p, policyNamespace));
        var hasIngressType = types?.Contains("Ingress") ?? true;
        var hasEgressType = types?.Contains("Egress") ?? egressRules is { Count: > 0 };
        if (!hasIngressType && spec.Value("ingress") is YamlSequence { Items.Count: > 0 })
        {
            context.Error(spec.KeyLocation("ingress"), spec.PathOf("ingress"),
                "ingress rules are written but policyTypes does not include Ingress, so Kubernetes ignores them; add Ingress to policyTypes or remove the rules");
        }

        if (!hasEgressType && spec.Value("egress") is YamlSequence { Items.Count: > 0 })
        {
            context.Error(spec.KeyLocation("egress"), spec.PathOf("egress"),
                "egress rules are written but policyTypes does not include Egress, so Kubernetes ignores them; add Egress to policyTypes or remove the rules");
        }

        List<IngressRule>? ingress = null;
        if (hasIngressType)
        {
            ingress = ingressRules?.SelectMany(r => r).ToList() ?? [];
            if (ingress.Count == 0)
            {
                ingress.Add(new IngressRule(null, null, null, null, null, null, null, spec.PathOf("ingress")));
            }
        }

        List<EgressRule>? egress = null;
        if (hasEgressType)
        {
            egress = egressRules?.SelectMany(r => r).ToList() ?? [];
            if (egress.Count == 0)
            {
                egress.Add(new EgressRule(null, null, null, null, null, null, null, null, null, spec.PathOf("egress")));
            }
        }

        var endpointSelector = podSelector is null ? null : WithLabel(Prefix(podSelector, "k8s:"), PodNamespaceLabel, policyNamespace);
        return new PolicyRule(endpointSelector, null, ingress, null, egress, null, null, null, null, null, "spec");
    }

    private List<string>? ReadPolicyTypes(Fields spec)
    {
        var types = spec.StringList("policyTypes");
        for (var i = 0; types is not null && i < types.Count; i++)
        {
            if (types[i] is not ("Ingress" or "Egress"))
            {
                var p = FieldPath.Index(spec.PathOf("policyTypes"), i);
                context.Error(context.Locations[p], p,
                    $"Unsupported value: \"{types[i]}\": supported values: \"Ingress\", \"Egress\"" + Suggestions.Hint(types[i], ["Ingress", "Egress"]));
            }
        }

        // An empty list is the same as none: Kubernetes defaults it from the rules written.
        return types is { Count: > 0 } ? types : null;
    }

    private List<IngressRule>? ReadIngress(YamlNode node, string path, string policyNamespace)
    {
        var f = RuleObject(node, path, PolicySchemas.KnpIngress);
        if (f is null)
        {
            return null;
        }

        var ports = f.List("ports", ReadPort);
        var toPorts = ports is { Count: > 0 } ? ports : null;
        var peers = f.List("from", (n, p) => ReadPeer(n, p, policyNamespace));
        if (peers is null || peers.Count == 0)
        {
            return [new IngressRule(null, null, null, ["all"], null, toPorts, null, path)];
        }

        return [.. peers.Select(peer => new IngressRule(
            peer.Selector is null ? null : [peer.Selector], null, peer.Cidr is null ? null : [peer.Cidr], null, null, toPorts, null, peer.Path))];
    }

    private List<EgressRule>? ReadEgress(YamlNode node, string path, string policyNamespace)
    {
        var f = RuleObject(node, path, PolicySchemas.KnpEgress);
        if (f is null)
        {
            return null;
        }

        var ports = f.List("ports", ReadPort);
        var toPorts = ports is { Count: > 0 } ? ports : null;
        var peers = f.List("to", (n, p) => ReadPeer(n, p, policyNamespace));
        if (peers is null || peers.Count == 0)
        {
            return [new EgressRule(null, null, null, ["all"], null, null, null, toPorts, null, path)];
        }

        return [.. peers.Select(peer => new EgressRule(
            peer.Selector is null ? null : [peer.Selector], null, peer.Cidr is null ? null : [peer.Cidr], null, null, null, null, toPorts, null, peer.Path))];
    }

    private Fields? RuleObject(YamlNode node, string path, ObjectSchema schema)
    {
        // `ingress: [{}]` (or `- {}`) allows everything; a bare `-` is read the same way by Kubernetes.
        if (node is YamlScalar { IsNull: true })
        {
            context.Error(node.Location, path, "expected an object, found null (write {} to allow all traffic in this direction)");
            return null;
        }

        return context.Object(node, path, schema);
    }

    private Peer? ReadPeer(YamlNode node, string path, string policyNamespace)
    {
        var f = context.Object(node, path, PolicySchemas.KnpPeer);
        if (f is null)
        {
            if (node is YamlScalar { IsNull: true })
            {
                context.Error(node.Location, path, "expected a peer object, found null");
            }

            return null;
        }

        var hasSelectors = f.Has("podSelector") || f.Has("namespaceSelector");
        if (f.Has("ipBlock"))
        {
            if (hasSelectors)
            {
                context.Error(f.KeyLocation("ipBlock"), f.PathOf("ipBlock"), "may not specify both ipBlock and another peer (podSelector or namespaceSelector)");
                return null;
            }

            return ReadIpBlock(f) is { } cidr ? new Peer(null, cidr, path) : null;
        }

        if (!hasSelectors)
        {
            context.Error(f.Location, path, "must specify a peer: one of podSelector, namespaceSelector or ipBlock");
            return null;
        }

        var pod = selectors.ReadSelector(f.Value("podSelector"), f.PathOf("podSelector"));
        var ns = selectors.ReadSelector(f.Value("namespaceSelector"), f.PathOf("namespaceSelector"));
        if (ns is null)
        {
            return pod is null ? null : new Peer(WithLabel(Prefix(pod, "k8s:"), PodNamespaceLabel, policyNamespace), null, path);
        }

        var namespaceLabels = Prefix(ns, NamespaceLabelsPrefix);
        if (namespaceLabels.MatchLabels.Count == 0 && namespaceLabels.MatchExpressions.Count == 0)
        {
            namespaceLabels = new EndpointSelector(namespaceLabels.MatchLabels, [new SelectorRequirement(PodNamespaceLabel, SelectorOperator.Exists, [])]);
        }

        var podLabels = pod is null ? EndpointSelector.All : Prefix(pod, "k8s:");
        var combined = new EndpointSelector(
            namespaceLabels.MatchLabels.Concat(podLabels.MatchLabels).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            [.. namespaceLabels.MatchExpressions, .. podLabels.MatchExpressions]);
        return new Peer(combined, null, path);
    }

    private CidrRule? ReadIpBlock(Fields peer)
    {
        var f = peer.Object("ipBlock", PolicySchemas.KnpIpBlock);
        if (f is null)
        {
            return null;
        }

        var cidr = f.String("cidr");
        var except = f.StringList("except") ?? [];
        if (cidr is null)
        {
            context.Error(f.Location, f.PathOf("cidr"), "required field is missing");
            return null;
        }

        if (CidrValidation.CheckCidrRule(cidr) is { } error)
        {
            context.Error(f.ValueLocation("cidr"), f.PathOf("cidr"), error);
            return null;
        }

        var ok = true;
        for (var i = 0; i < except.Count; i++)
        {
            if (CidrValidation.CheckExcept(cidr, except[i]) is { } exceptError)
            {
                var p = FieldPath.Index(f.PathOf("except"), i);
                context.Error(context.Locations[p], p, exceptError);
                ok = false;
            }
        }

        return ok ? new CidrRule(cidr, null, null, except) : null;
    }

    private PortRule? ReadPort(YamlNode node, string path)
    {
        var f = context.Object(node, path, PolicySchemas.KnpPort);
        if (f is null)
        {
            if (node is YamlScalar { IsNull: true })
            {
                context.Error(node.Location, path, "expected an object, found null");
            }

            return null;
        }

        var protocolText = f.String("protocol");
        var port = f.String("port") ?? "0";
        var endPort = f.Integer("endPort");
        var ok = true;
        var protocol = "TCP";
        if (protocolText is not null)
        {
            if (protocolText is not ("TCP" or "UDP" or "SCTP"))
            {
                context.Error(f.ValueLocation("protocol"), f.PathOf("protocol"),
                    $"Unsupported value: \"{protocolText}\": supported values: \"TCP\", \"UDP\", \"SCTP\"" + Suggestions.Hint(protocolText, ["TCP", "UDP", "SCTP"]));
                ok = false;
            }
            else
            {
                protocol = protocolText;
            }
        }

        int? number = null;
        if (PortValidation.CheckPort(port, out number) is { } portError)
        {
            context.Error(f.ValueLocation("port"), f.PathOf("port"), portError);
            ok = false;
        }

        if (endPort is { } end && ok)
        {
            var at = f.ValueLocation("endPort");
            var endPath = f.PathOf("endPort");
            if (!f.Has("port"))
            {
                context.Error(at, endPath, "may not be specified when `port` is not specified");
                ok = false;
            }
            else if (number is null)
            {
                context.Error(at, endPath, "may not be specified when `port` is a named (string) port");
                ok = false;
            }
            else if (end < number || end > 65535)
            {
                context.Error(at, endPath, $"endPort {end} must be greater than or equal to port {number} and at most 65535");
                ok = false;
            }
        }

        return ok ? new PortRule([new PortProtocol(number is null ? port.ToLowerInvariant() : port, endPort, protocol)], null, null, path) : null;
    }

    private static EndpointSelector Prefix(EndpointSelector selector, string prefix) => new(
        selector.MatchLabels.ToDictionary(kv => prefix + kv.Key, kv => kv.Value, StringComparer.Ordinal),
        [.. selector.MatchExpressions.Select(e => e with { Key = prefix + e.Key })]);

    private static EndpointSelector WithLabel(EndpointSelector selector, string key, string value)
    {
        var labels = new Dictionary<string, string>(selector.MatchLabels, StringComparer.Ordinal) { [key] = value };
        return selector with { MatchLabels = labels };
    }

    private sealed record Peer(EndpointSelector? Selector, CidrRule? Cidr, string Path);
}
