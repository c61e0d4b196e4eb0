namespace Membrane.Policy.Parsing;

/// <summary>
/// The field names of every object Membrane reads (Cilium 1.19 <c>pkg/policy/api</c>, Kubernetes
/// <c>networking.k8s.io/v1</c>), and the fields it refuses with the reason. A refused field is never silently
/// ignored: Cilium once accepted a NetworkPolicy <c>endPort</c> it did not implement (cilium/cilium#28684).
/// </summary>
internal static class PolicySchemas
{
    public const string NotSupported = "not supported by Membrane: ";

    private const string NodeSelectors =
        NotSupported + "node selectors need per-node identities (Cilium's --enable-node-selector-labels); select nodes with the \"host\" or \"remote-node\" entity";

    private const string Groups = NotSupported + "cloud provider groups (AWS security groups) are not available; list the addresses with a CIDR rule";

    private const string Authentication = NotSupported + "mutual authentication (SPIFFE) is not implemented";

    private const string Requires = "fromRequires/toRequires were removed in Cilium 1.19; add the required labels to each selector instead";

    private const string RulesInDeny =
        "deny rules cannot have L7 rules (Cilium's PortDenyRule has only \"ports\"); deny the port, or allow only the requests you want with an allow rule";

    // A top-level "description" is not in the CRD (the API server prunes it), but Cilium's own examples write it;
    // it means nothing in either place, so it is accepted and ignored.
    public static readonly ObjectSchema Envelope = new(["apiVersion", "kind", "metadata", "spec", "specs", "status", "description"]);

    public static readonly ObjectSchema ListEnvelope = new(["apiVersion", "kind", "metadata", "items"]);

    public static readonly ObjectSchema Metadata = new(
    [
        "name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "finalizers", "ownerReferences", "selfLink",
        "generateName",
    ]);

    public static readonly ObjectSchema Rule = new(
        ["endpointSelector", "ingress", "ingressDeny", "egress", "egressDeny", "labels", "enableDefaultDeny", "description", "log"],
        new Dictionary<string, string>
        {
            ["nodeSelector"] = NotSupported + "host policies (nodeSelector) need host-firewall enforcement on the node's devices; Membrane enforces on workload endpoints",
        });

    public static readonly ObjectSchema Selector = new(["matchLabels", "matchExpressions"]);

    public static readonly ObjectSchema SelectorRequirement = new(["key", "operator", "values"]);

    public static readonly ObjectSchema Ingress = new(
        ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "toPorts", "icmps"],
        new Dictionary<string, string>
        {
            ["fromNodes"] = NodeSelectors,
            ["fromGroups"] = Groups,
            ["authentication"] = Authentication,
            ["fromRequires"] = Requires,
        });

    public static readonly ObjectSchema IngressDeny = new(
        ["fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "toPorts", "icmps"],
        new Dictionary<string, string>
        {
            ["fromNodes"] = NodeSelectors,
            ["fromGroups"] = Groups,
            ["fromRequires"] = Requires,
        });

    public static readonly ObjectSchema Egress = new(
        ["toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toPorts", "icmps"],
        new Dictionary<string, string>
        {
            ["toFQDNs"] = NotSupported + "DNS-based (FQDN) policy needs a DNS proxy that learns name-to-IP mappings; allow the addresses with toCIDRSet",
            ["toServices"] = NotSupported + "Kubernetes Services are not known to Membrane; select the service's backends with toEndpoints",
            ["toNodes"] = NodeSelectors,
            ["toGroups"] = Groups,
            ["authentication"] = Authentication,
            ["toRequires"] = Requires,
        });

    public static readonly ObjectSchema EgressDeny = new(
        ["toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toPorts", "icmps"],
        new Dictionary<string, string>
        {
            ["toNodes"] = NodeSelectors,
            ["toGroups"] = Groups,
            ["toRequires"] = Requires,
            ["toFQDNs"] = "deny rules cannot have toFQDNs (Cilium's EgressDenyRule has no toFQDNs)",
            ["toServices"] = NotSupported + "Kubernetes Services are not known to Membrane; select the service's backends with toEndpoints",
        });

    public static readonly ObjectSchema CidrRule = new(
        ["cidr", "except"],
        new Dictionary<string, string>
        {
            ["cidrGroupRef"] = NotSupported + "CiliumCIDRGroup resources are not loaded; write the prefixes with \"cidr\"",
            ["cidrGroupSelector"] = NotSupported + "CiliumCIDRGroup resources are not loaded; write the prefixes with \"cidr\"",
        });

    public static readonly ObjectSchema PortRule = new(
        ["ports", "rules"],
        new Dictionary<string, string>
        {
            ["terminatingTLS"] = NotSupported + "the proxy does not terminate TLS, so it cannot inspect HTTPS",
            ["originatingTLS"] = NotSupported + "the proxy does not originate TLS",
            ["serverNames"] = NotSupported + "TLS SNI matching is not implemented",
            ["listener"] = NotSupported + "custom Envoy listeners (CiliumEnvoyConfig) do not exist in Membrane",
        });

    public static readonly ObjectSchema PortDenyRule = new(["ports"], new Dictionary<string, string> { ["rules"] = RulesInDeny });

    public static readonly ObjectSchema PortProtocol = new(["port", "endPort", "protocol"]);

    public static readonly ObjectSchema L7Rules = new(
        ["http", "kafka"],
        new Dictionary<string, string>
        {
            ["dns"] = NotSupported + "DNS rules need a DNS proxy, which Membrane does not have",
            ["l7proto"] = NotSupported + "generic proxylib parsers (l7proto/l7) are not implemented; the proxy understands http (and gRPC) and kafka",
            ["l7"] = NotSupported + "generic proxylib parsers (l7proto/l7) are not implemented; the proxy understands http (and gRPC) and kafka",
        });

    public static readonly ObjectSchema Http = new(["method", "path", "host", "headers", "headerMatches"]);

    public static readonly ObjectSchema HeaderMatch = new(["name", "value", "secret", "mismatch"]);

    public static readonly ObjectSchema Secret = new(["namespace", "name"]);

    public static readonly ObjectSchema Kafka = new(["role", "apiKey", "apiVersion", "clientID", "topic"]);

    public static readonly ObjectSchema Icmp = new(["fields"]);

    public static readonly ObjectSchema IcmpField = new(["family", "type"]);

    public static readonly ObjectSchema DefaultDeny = new(["ingress", "egress"]);

    public static readonly ObjectSchema Log = new(["value"]);

    public static readonly ObjectSchema RuleLabel = new(["key", "value", "source"]);

    // Kubernetes NetworkPolicy (networking.k8s.io/v1).
    public static readonly ObjectSchema KnpSpec = new(["podSelector", "ingress", "egress", "policyTypes"]);

    public static readonly ObjectSchema KnpIngress = new(["from", "ports"]);

    public static readonly ObjectSchema KnpEgress = new(["to", "ports"]);

    public static readonly ObjectSchema KnpPeer = new(["podSelector", "namespaceSelector", "ipBlock"]);

    public static readonly ObjectSchema KnpIpBlock = new(["cidr", "except"]);

    public static readonly ObjectSchema KnpPort = new(["protocol", "port", "endPort"]);
}
