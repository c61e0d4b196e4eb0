using Membrane.Policy.Model;
using Membrane.Policy.Parsing;

namespace Membrane.Policy.Validation;

/// <summary>
/// The cross-field rules of CiliumNetworkPolicy validation (Cilium 1.19 <c>rule_validation.go</c>, reference §1.9),
/// checked on the model with the locations the reader recorded. Messages are Cilium's where it has one.
/// Value formats (ports, CIDRs, regexes, Kafka fields, selectors) are checked by the reader where they were written.
/// </summary>
internal static class RuleValidator
{
    private const string PodNamespaceKey = "io.kubernetes.pod.namespace";

    public static void Validate(PolicyResource resource, DocumentContext context)
    {
        foreach (var rule in resource.Rules)
        {
            ValidateRule(resource, rule, context);
        }
    }

    private static void ValidateRule(PolicyResource resource, PolicyRule rule, DocumentContext context)
    {
        var at = resource.LocationOf(rule.FieldPath);
        var nodeSelectorWritten = resource.Locations.ContainsKey(rule.FieldPath + ".nodeSelector");
        if (rule.EndpointSelector is null && !nodeSelectorWritten)
        {
            context.Error(at, rule.FieldPath, "rule must have one of EndpointSelector or NodeSelector");
        }

        // A direction whose items were all rejected already has its errors; do not add "no direction" on top.
        var directionItemsWritten = new[] { "ingress", "ingressDeny", "egress", "egressDeny" }
            .Any(d => resource.Locations.ContainsKey($"{rule.FieldPath}.{d}[0]"));
        if (IsEmpty(rule.Ingress) && IsEmpty(rule.IngressDeny) && IsEmpty(rule.Egress) && IsEmpty(rule.EgressDeny) && !directionItemsWritten)
        {
            context.Error(at, rule.FieldPath, "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny (to deny everything in a direction, write one empty rule: ingress: [{}])");
        }

        if (resource.Kind == PolicyKind.CiliumNetworkPolicy && rule.EndpointSelector is { } selector)
        {
            CheckSubjectNamespace(resource, rule, selector, context);
        }

        foreach (var ingress in (rule.Ingress ?? []).Concat(rule.IngressDeny ?? []))
        {
            CheckPeers(resource, ingress.FieldPath, context,
                ("FromEndpoints", ingress.FromEndpoints?.Count), ("FromCIDR", ingress.FromCidr?.Count),
                ("FromCIDRSet", ingress.FromCidrSet?.Count), ("FromEntities", ingress.FromEntities?.Count));
            CheckPorts(resource, ingress.FieldPath, ingress.ToPorts, ingress.Icmps, context);
        }

        foreach (var egress in (rule.Egress ?? []).Concat(rule.EgressDeny ?? []))
        {
            CheckPeers(resource, egress.FieldPath, context,
                ("ToCIDR", egress.ToCidr?.Count), ("ToCIDRSet", egress.ToCidrSet?.Count),
                ("ToEndpoints", egress.ToEndpoints?.Count), ("ToEntities", egress.ToEntities?.Count));
            CheckPorts(resource, egress.FieldPath, egress.ToPorts, egress.Icmps, context);
        }
    }

    private static void CheckPeers(PolicyResource resource, string path, DocumentContext context, params (string Name, int? Count)[] members)
    {
        var present = members.Where(m => m.Count > 0).Select(m => m.Name).ToList();
        if (present.Count > 1)
        {
            context.Error(resource.LocationOf(path), path, $"Combining {present[0]} and {present[1]} is not supported yet (write a separate rule for each kind of peer)");
        }
    }

    private static void CheckPorts(PolicyResource resource, string path, IReadOnlyList<PortRule>? toPorts, IReadOnlyList<IcmpRule>? icmps, DocumentContext context)
    {
        if (toPorts is { Count: > 0 } && icmps is { Count: > 0 })
        {
            var icmpsPath = path + ".icmps";
            context.Error(resource.LocationOf(icmpsPath), icmpsPath,
                "The ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts.");
        }

        foreach (var portRule in toPorts ?? [])
        {
            var rules = portRule.Rules;
            if (rules is null)
            {
                continue;
            }

            var rulesPath = portRule.FieldPath + ".rules";
            if (rules.Http is not null && rules.Kafka is not null)
            {
                context.Error(resource.LocationOf(rulesPath), rulesPath, "multiple L7 protocol rule types specified in single rule");
            }

            // A port item that failed to read is missing from Ports, so indexes would point at the wrong item; its
            // error is already reported.
            var portsRead = !resource.Locations.ContainsKey($"{portRule.FieldPath}.ports[{portRule.Ports.Count}]");
            for (var i = 0; portsRead && i < portRule.Ports.Count; i++)
            {
                var port = portRule.Ports[i];
                var portPath = $"{portRule.FieldPath}.ports[{i}]";
                if (port.Port == "0")
                {
                    context.Error(resource.LocationOf(portPath + ".port"), portPath + ".port", "L7 rules can not be used when a port is 0");
                }

                if (port.Protocol != "TCP")
                {
                    var protocolPath = resource.Locations.ContainsKey(portPath + ".protocol") ? portPath + ".protocol" : portPath;
                    context.Error(resource.LocationOf(protocolPath), protocolPath,
                        $"L7 rules can only apply to TCP (not {port.Protocol}) except for DNS rules" +
                        (resource.Locations.ContainsKey(portPath + ".protocol") ? "" : "; an omitted protocol means ANY, so write protocol: TCP"));
                }
            }
        }
    }

    // Cilium replaces a different namespace in a CNP's endpointSelector with the policy's own, with only a log
    // warning ("EndpointSelector always applies in namespace of the policy resource"); say so instead.
    private static void CheckSubjectNamespace(PolicyResource resource, PolicyRule rule, EndpointSelector selector, DocumentContext context)
    {
        foreach (var (key, value) in selector.MatchLabels)
        {
            if (IsPodNamespaceKey(key) && value != resource.Namespace)
            {
                var path = FieldPath.Member(rule.FieldPath + ".endpointSelector.matchLabels", key);
                context.Error(resource.LocationOf(path), path,
                    $"a CiliumNetworkPolicy always applies in its own namespace (\"{resource.Namespace}\"); it cannot select endpoints in \"{value}\" (set metadata.namespace, or use a CiliumClusterwideNetworkPolicy)");
            }
        }
    }

    private static bool IsPodNamespaceKey(string key) =>
        key == PodNamespaceKey || key == "k8s:" + PodNamespaceKey || key == "any:" + PodNamespaceKey;

    private static bool IsEmpty<T>(IReadOnlyList<T>? list) => list is null || list.Count == 0;
}
