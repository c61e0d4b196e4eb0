using Membrane.Policy.Model;
using Membrane.Policy.Validation;

namespace Membrane.Policy.Parsing;

/// <summary>
/// Reads the resources of one text: every YAML document, <c>List</c> and <c>*List</c> kinds with <c>items</c>,
/// the resource envelope (<c>apiVersion</c>, <c>kind</c>, <c>metadata</c>), then the kind's spec.
/// </summary>
internal static class PolicyDocumentReader
{
    public const string CiliumApiVersion = "cilium.io/v2";
    public const string NetworkingApiVersion = "networking.k8s.io/v1";

    private static readonly string[] Kinds =
        [nameof(PolicyKind.CiliumNetworkPolicy), nameof(PolicyKind.CiliumClusterwideNetworkPolicy), nameof(PolicyKind.NetworkPolicy)];

    private static readonly ObjectSchema KnpEnvelope = new(["apiVersion", "kind", "metadata", "spec", "status"]);

    public static void Read(string text, string file, List<PolicyResource> policies, List<PolicyError> errors)
    {
        foreach (var (root, _) in YamlTreeReader.ReadDocuments(text, file, errors))
        {
            if (root is YamlScalar { IsNull: true })
            {
                continue;
            }

            ReadObject(root, "", null, null, policies, errors);
        }
    }

    private static void ReadObject(YamlNode node, string prefix, string? defaultApiVersion, string? defaultKind, List<PolicyResource> policies, List<PolicyError> errors)
    {
        var context = new DocumentContext(prefix, errors);
        if (node is not YamlMapping map)
        {
            context.Error(node.Location, "", $"expected a Kubernetes resource (an object with apiVersion and kind), found {node.KindName}" +
                (node is YamlSequence ? " (a bare list of rules is Cilium's old policy import format: wrap the rules in a CiliumNetworkPolicy's specs)" : ""));
            return;
        }

        var kindNode = Peek(map, "kind");
        var kind = kindNode is { IsNull: false } ? kindNode.Text : defaultKind;
        var apiVersionNode = Peek(map, "apiVersion");
        var apiVersion = apiVersionNode is { IsNull: false } ? apiVersionNode.Text : defaultApiVersion;
        if (kind is null)
        {
            context.Error(map.Location, "kind", $"required field is missing (expected {string.Join(", ", Kinds)} or a List of them)");
            return;
        }

        if (kind == "List" || (kind.EndsWith("List", StringComparison.Ordinal) && Kinds.Contains(kind[..^4])))
        {
            ReadList(map, context, kind, apiVersion, prefix, policies, errors);
            return;
        }

        if (!Enum.TryParse<PolicyKind>(kind, ignoreCase: false, out var policyKind) || !Kinds.Contains(kind))
        {
            context.Error(kindNode?.Location ?? map.Location, "kind",
                $"unsupported kind \"{kind}\": expected {string.Join(", ", Kinds)} or a List of them" + Suggestions.Hint(kind, Kinds));
            return;
        }

        var expectedApiVersion = policyKind == PolicyKind.NetworkPolicy ? NetworkingApiVersion : CiliumApiVersion;
        if (apiVersion is null)
        {
            context.Error(map.Location, "apiVersion", $"required field is missing (write apiVersion: {expectedApiVersion})");
        }
        else if (apiVersion != expectedApiVersion)
        {
            context.Error(apiVersionNode?.Location ?? map.Location, "apiVersion",
                $"apiVersion \"{apiVersion}\" is not supported for {kind}; use {expectedApiVersion}");
        }

        var f = context.Object(map, "", policyKind == PolicyKind.NetworkPolicy ? KnpEnvelope : PolicySchemas.Envelope)!;
        var (name, ns) = ReadMetadata(f, context, policyKind);
        IReadOnlyList<PolicyRule> rules;
        if (policyKind == PolicyKind.NetworkPolicy)
        {
            rules = new NetworkPolicyTranslator(context, new CiliumRuleReader(context)).Translate(f, ns ?? "default") is { } rule ? [rule] : [];
        }
        else
        {
            rules = ReadCiliumRules(f, context, kind);
        }

        if (name is null)
        {
            return;
        }

        var resource = new PolicyResource(policyKind, name, ns, rules, map.Location, context.Locations);
        if (policyKind != PolicyKind.NetworkPolicy)
        {
            RuleValidator.Validate(resource, context);
        }

        policies.Add(resource);
    }

    private static void ReadList(YamlMapping map, DocumentContext context, string kind, string? apiVersion, string prefix, List<PolicyResource> policies, List<PolicyError> errors)
    {
        var f = context.Object(map, "", PolicySchemas.ListEnvelope)!;
        var items = f.Value("items");
        if (items is null or YamlScalar { IsNull: true })
        {
            context.Error(map.Location, "items", "required field is missing");
            return;
        }

        if (items is not YamlSequence seq)
        {
            context.Error(items.Location, "items", $"expected a list, found {items.KindName}");
            return;
        }

        var itemKind = kind == "List" ? null : kind[..^4];
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var itemPrefix = FieldPath.Index(context.PrefixPath("items"), i);
            ReadObject(seq.Items[i], itemPrefix, itemKind is null ? null : apiVersion, itemKind, policies, errors);
        }
    }

    private static (string? Name, string? Namespace) ReadMetadata(Fields f, DocumentContext context, PolicyKind kind)
    {
        var metadata = f.Object("metadata", PolicySchemas.Metadata);
        if (metadata is null)
        {
            if (!f.Has("metadata"))
            {
                context.Error(f.Location, "metadata", "required field is missing (a policy needs metadata.name)");
            }

            return (null, null);
        }

        var name = metadata.String("name");
        var ns = metadata.String("namespace");
        _ = metadata.StringMap("labels");
        _ = metadata.StringMap("annotations");
        if (string.IsNullOrEmpty(name))
        {
            context.Error(metadata.IsWritten("name") ? metadata.ValueLocation("name") : metadata.Location, "metadata.name", "required field is missing");
            name = null;
        }
        else if (ResourceNames.CheckName(name) is { } nameError)
        {
            context.Error(metadata.ValueLocation("name"), "metadata.name", nameError);
        }

        if (kind == PolicyKind.CiliumClusterwideNetworkPolicy)
        {
            if (!string.IsNullOrEmpty(ns))
            {
                context.Error(metadata.ValueLocation("namespace"), "metadata.namespace",
                    "a CiliumClusterwideNetworkPolicy is cluster-wide and has no namespace; remove metadata.namespace or use a CiliumNetworkPolicy");
            }

            return (name, null);
        }

        if (string.IsNullOrEmpty(ns))
        {
            return (name, "default");
        }

        if (ResourceNames.CheckNamespace(ns) is { } nsError)
        {
            context.Error(metadata.ValueLocation("namespace"), "metadata.namespace", nsError);
        }

        return (name, ns);
    }

    private static List<PolicyRule> ReadCiliumRules(Fields f, DocumentContext context, string kind)
    {
        var reader = new CiliumRuleReader(context);
        var rules = new List<PolicyRule>();
        if (f.Has("spec") && reader.ReadRule(f.Value("spec")!, "spec") is { } spec)
        {
            rules.Add(spec);
        }

        if (f.List("specs", reader.ReadRule) is { } specs)
        {
            rules.AddRange(specs);
        }

        var emptySpecs = f.Value("specs") is null or YamlScalar { IsNull: true } or YamlSequence { Items.Count: 0 };
        if (!f.Has("spec") && emptySpecs)
        {
            context.Error(f.Location, "spec", $"Invalid {kind} spec(s): empty policy");
        }

        return rules;
    }

    private static YamlScalar? Peek(YamlMapping map, string key)
    {
        foreach (var (k, v) in map.Entries)
        {
            if (k.Text == key)
            {
                return v as YamlScalar;
            }
        }

        return null;
    }
}
