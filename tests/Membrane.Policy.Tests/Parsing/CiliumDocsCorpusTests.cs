using Membrane.Policy.Parsing;

namespace Membrane.Policy.Tests.Parsing;

/// <summary>
/// Policies from Cilium's own examples (<c>Corpus/CiliumDocs/</c>, unchanged) load without errors, except the ones
/// listed here, which use what Membrane rejects (unsupported features) or what Cilium 1.19 itself rejects or
/// silently mis-reads; each is asserted with its exact errors.
/// </summary>
public sealed class CiliumDocsCorpusTests
{
    private static readonly string CorpusDirectory = RepoPaths.Of("tests", "Membrane.Policy.Tests", "Corpus", "CiliumDocs");

    private static readonly Dictionary<string, string[]> Rejected = new()
    {
        // Unsupported by Membrane (reference §8 #19: refused, never silently ignored).
        ["host-demo-host-policy.yaml"] =
        [
            "7:3: spec.nodeSelector: not supported by Membrane: host policies (nodeSelector) need host-firewall enforcement on the node's devices; Membrane enforces on workload endpoints",
        ],
        ["l3-fqdn.yaml"] =
        [
            "14:7: spec.egress[1].toFQDNs: not supported by Membrane: DNS-based (FQDN) policy needs a DNS proxy that learns name-to-IP mappings; allow the addresses with toCIDRSet",
        ],
        ["l3-service.yaml"] =
        [
            "10:5: spec.egress[0].toServices: not supported by Membrane: Kubernetes Services are not known to Membrane; select the service's backends with toEndpoints",
        ],
        ["l7-dns.yaml"] =
        [
            "19:11: spec.egress[0].toPorts[0].rules.dns: not supported by Membrane: DNS rules need a DNS proxy, which Membrane does not have",
            "24:5: spec.egress[1].toFQDNs: not supported by Membrane: DNS-based (FQDN) policy needs a DNS proxy that learns name-to-IP mappings; allow the addresses with toCIDRSet",
        ],

        // fromRequires was removed in Cilium 1.19 (MaxItems=0).
        ["l3-requires.yaml"] =
        [
            "11:7: specs[0].ingress[0].fromRequires: fromRequires/toRequires were removed in Cilium 1.19; add the required labels to each selector instead",
        ],

        // `egress:` with no rules: Cilium 1.19 rejects it too ("rule must have at least one of ...").
        ["l3-egress-default-deny.yaml"] =
        [
            "5:1: spec: rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny (to deny everything in a direction, write one empty rule: ingress: [{}])",
        ],

        // Operators are case-sensitive (CRD enum; LabelSelectorAsSelector rejects "in", so Cilium's selector
        // would match nothing).
        ["l3-match-expressions-and-statement.yaml"] =
        [
            "11:19: spec.ingress[0].fromEndpoints[0].matchExpressions[0].operator: Unsupported value: \"in\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"; did you mean \"In\"?",
            "15:19: spec.ingress[0].fromEndpoints[0].matchExpressions[1].operator: Unsupported value: \"in\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"; did you mean \"In\"?",
        ],
        ["l3-match-expressions-or-statement.yaml"] =
        [
            "11:19: spec.ingress[0].fromEndpoints[0].matchExpressions[0].operator: Unsupported value: \"in\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"; did you mean \"In\"?",
            "16:19: spec.ingress[0].fromEndpoints[1].matchExpressions[0].operator: Unsupported value: \"in\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"; did you mean \"In\"?",
        ],

        // `HTTP:` is not a field (the CRD has `http`): the API server prunes it and the L7 rules vanish silently.
        ["l7-http.yaml"] =
        [
            "15:9: spec.ingress[0].toPorts[0].rules.HTTP: unknown field; did you mean \"http\"?",
        ],
    };

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(CorpusDirectory, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void CorpusHoldsTheCiliumExamples() => Assert.True(Files().Count >= 25);

    [Theory]
    [MemberData(nameof(Files))]
    public void ExampleLoadsOrIsRejectedForTheListedReason(string name)
    {
        var result = PolicyLoader.LoadText(File.ReadAllText(Path.Combine(CorpusDirectory, name)), name);

        var actual = result.Errors.Select(e => $"{e.Location.Line}:{e.Location.Column}: {e.FieldPath}: {e.Message}").ToArray();
        if (Rejected.TryGetValue(name, out var expected))
        {
            Assert.Equal(expected, actual);
            Assert.False(result.IsValid);
        }
        else
        {
            Assert.Empty(actual);
            Assert.True(result.IsValid);
            Assert.NotEmpty(result.Policies);
        }
    }

    [Fact]
    public void EveryListedRejectionHasItsFile()
    {
        var files = Directory.EnumerateFiles(CorpusDirectory, "*.yaml").Select(Path.GetFileName).ToHashSet();
        Assert.All(Rejected.Keys, name => Assert.Contains(name, files));
    }
}
