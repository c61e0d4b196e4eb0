using System.Runtime.CompilerServices;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;
using Membrane.Policy.Validation;

namespace Membrane.Policy.Parsing;

/// <summary>
/// Reads CiliumNetworkPolicy rules (<c>spec</c>, <c>specs[]</c>) into the model, checking every value's format
/// where it was written. Cross-field rules (reference §1.9) are checked afterwards by <see cref="RuleValidator"/>.
/// Rejected fields (<see cref="PolicySchemas"/>) are reported and not read, so their model slots stay null.
/// </summary>
internal sealed class CiliumRuleReader(DocumentContext context)
{
    private const int MaxPorts = 40;
    private const int MaxIcmpFields = 40;
    private const int MaxLogLength = 32;

    public PolicyRule? ReadRule(YamlNode node, string path)
    {
        if (node is YamlScalar { IsNull: true })
        {
            context.Error(node.Location, path, "expected an object, found null");
            return null;
        }

        var f = context.Object(node, path, PolicySchemas.Rule);
        if (f is null)
        {
            return null;
        }

        return new PolicyRule(
            EndpointSelector: ReadSelector(f.Value("endpointSelector"), f.PathOf("endpointSelector")),
            NodeSelector: null,
            Ingress: f.List("ingress", (n, p) => ReadIngress(n, p, deny: false)),
            IngressDeny: f.List("ingressDeny", (n, p) => ReadIngress(n, p, deny: true)),
            Egress: f.List("egress", (n, p) => ReadEgress(n, p, deny: false)),
            EgressDeny: f.List("egressDeny", (n, p) => ReadEgress(n, p, deny: true)),
            EnableDefaultDeny: ReadDefaultDeny(f),
            Description: f.String("description"),
            Labels: f.List("labels", ReadRuleLabel)?.Select(l => l.Value).ToList(),
            Log: ReadLog(f),
            FieldPath: path);
    }

    /// <summary>Reads a label selector; null for null (absent). Keys and values are checked; keys are kept as written.</summary>
    public EndpointSelector? ReadSelector(YamlNode? node, string path)
    {
        var f = context.Object(node, path, PolicySchemas.Selector);
        if (f is null)
        {
            return null;
        }

        var matchLabels = f.StringMap("matchLabels") ?? [];
        foreach (var (key, value) in matchLabels)
        {
            var entryPath = FieldPath.Member(f.PathOf("matchLabels"), key);
            var at = context.Locations[entryPath];
            if (LabelValidation.CheckKey(key) is { } keyError)
            {
                context.Error(at, entryPath, keyError);
            }
            else if (LabelValidation.CheckValue(value) is { } valueError)
            {
                context.Error(at, entryPath, valueError);
            }
        }

        var expressions = f.List("matchExpressions", ReadRequirement) ?? [];
        return new EndpointSelector(matchLabels, expressions);
    }

    /// <summary>A selector that is a list item: null items are errors.</summary>
    public EndpointSelector? ReadSelectorItem(YamlNode node, string path)
    {
        if (node is YamlScalar { IsNull: true })
        {
            context.Error(node.Location, path, "expected a selector object, found null (write {} to select all endpoints)");
            return null;
        }

        return ReadSelector(node, path);
    }

    private SelectorRequirement? ReadRequirement(YamlNode node, string path)
    {
        var f = context.Object(node, path, PolicySchemas.SelectorRequirement);
        if (f is null)
        {
            if (node is YamlScalar { IsNull: true })
            {
                context.Error(node.Location, path, "expected an object, found null");
            }

            return null;
        }

        f.Require("key");
        f.Require("operator");
        var key = f.String("key");
        var operatorText = f.String("operator");
        var values = f.StringList("values") ?? [];
        if (key is not null && LabelValidation.CheckKey(key) is { } keyError)
        {
            context.Error(f.ValueLocation("key"), f.PathOf("key"), keyError);
        }

        if (operatorText is null)
        {
            return null;
        }

        if (!Enum.TryParse<SelectorOperator>(operatorText, ignoreCase: false, out var op) || !Enum.IsDefined(op) || operatorText.Any(char.IsAsciiDigit))
        {
            var names = Enum.GetNames<SelectorOperator>();
            context.Error(f.ValueLocation("operator"), f.PathOf("operator"),
                $"Unsupported value: \"{operatorText}\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"" + Suggestions.Hint(operatorText, names));
            return null;
        }

        switch (op)
        {
            case SelectorOperator.In or SelectorOperator.NotIn when values.Count == 0:
                context.Error(f.KeyLocation(f.Has("values") ? "values" : "operator"), f.PathOf("values"),
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'");
                break;
            case SelectorOperator.Exists or SelectorOperator.DoesNotExist when values.Count > 0:
                context.Error(f.KeyLocation("values"), f.PathOf("values"),
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
                break;
        }

        for (var i = 0; i < values.Count; i++)
        {
            if (LabelValidation.CheckValue(values[i]) is { } valueError)
            {
                var p = FieldPath.Index(f.PathOf("values"), i);
                context.Error(context.Locations[p], p, valueError);
            }
        }

        return key is null ? null : new SelectorRequirement(key, op, values);
    }

    private IngressRule? ReadIngress(YamlNode node, string path, bool deny)
    {
        var f = ReadItemObject(node, path, deny ? PolicySchemas.IngressDeny : PolicySchemas.Ingress);
        if (f is null)
        {
            return null;
        }

        return new IngressRule(
            FromEndpoints: f.List("fromEndpoints", ReadSelectorItem),
            FromCidr: ReadCidrList(f, "fromCIDR"),
            FromCidrSet: f.List("fromCIDRSet", ReadCidrRule),
            FromEntities: ReadEntities(f, "fromEntities"),
            FromNodes: null,
            ToPorts: f.List("toPorts", (n, p) => ReadPortRule(n, p, deny)),
            Icmps: f.List("icmps", ReadIcmp),
            FieldPath: path);
    }

    private EgressRule? ReadEgress(YamlNode node, string path, bool deny)
    {
        var f = ReadItemObject(node, path, deny ? PolicySchemas.EgressDeny : PolicySchemas.Egress);
        if (f is null)
        {
            return null;
        }

        return new EgressRule(
            ToEndpoints: f.List("toEndpoints", ReadSelectorItem),
            ToCidr: ReadCidrList(f, "toCIDR"),
            ToCidrSet: f.List("toCIDRSet", ReadCidrRule),
            ToEntities: ReadEntities(f, "toEntities"),
            ToNodes: null,
            ToServices: null,
            ToFqdns: null,
            ToPorts: f.List("toPorts", (n, p) => ReadPortRule(n, p, deny)),
            Icmps: f.List("icmps", ReadIcmp),
            FieldPath: path);
    }

    // A list item written as `- ` (null) is an empty object in Go's decoder (`ingress: [{}]` means "allow nothing
    // but enable default deny"), but it is far more often a mistake; require `{}` to say it.
    private Fields? ReadItemObject(YamlNode node, string path, ObjectSchema schema)
    {
        if (node is YamlScalar { IsNull: true })
        {
            context.Error(node.Location, path, "expected an object, found null (write {} for an empty rule)");
            return null;
        }

        return context.Object(node, path, schema);
    }

    private List<string>? ReadCidrList(Fields f, string name)
    {
        var list = f.StringList(name);
        for (var i = 0; list is not null && i < list.Count; i++)
        {
            if (CidrValidation.CheckCidr(list[i]) is { } error)
            {
                var p = FieldPath.Index(f.PathOf(name), i);
                context.Error(context.Locations[p], p, error);
            }
        }

        return list;
    }

    private List<string>? ReadEntities(Fields f, string name)
    {
        var list = f.StringList(name);
        for (var i = 0; list is not null && i < list.Count; i++)
        {
            if (EntityNames.Check(list[i]) is { } error)
            {
                var p = FieldPath.Index(f.PathOf(name), i);
                context.Error(context.Locations[p], p, error);
            }
        }

        return list;
    }

    private CidrRule? ReadCidrRule(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.CidrRule);
        if (f is null)
        {
            return null;
        }

        var cidr = f.String("cidr");
        var except = f.StringList("except") ?? [];
        if (cidr is null)
        {
            if (!f.Has("cidrGroupRef") && !f.Has("cidrGroupSelector"))
            {
                context.Error(f.Location, f.PathOf("cidr"), "required field is missing");
            }

            return null;
        }

        if (CidrValidation.CheckCidrRule(cidr) is { } error)
        {
            context.Error(f.ValueLocation("cidr"), f.PathOf("cidr"), error);
            return null;
        }

        for (var i = 0; i < except.Count; i++)
        {
            if (CidrValidation.CheckExcept(cidr, except[i]) is { } exceptError)
            {
                var p = FieldPath.Index(f.PathOf("except"), i);
                context.Error(context.Locations[p], p, exceptError);
            }
        }

        return new CidrRule(cidr, null, null, except);
    }

    private PortRule? ReadPortRule(YamlNode node, string path, bool deny)
    {
        var f = ReadItemObject(node, path, deny ? PolicySchemas.PortDenyRule : PolicySchemas.PortRule);
        if (f is null)
        {
            return null;
        }

        var ports = f.List("ports", ReadPortProtocol);
        if (ports is { Count: > MaxPorts })
        {
            context.Error(f.KeyLocation("ports"), f.PathOf("ports"), $"too many ports, the max is {MaxPorts}");
        }
        else if (IsMissingOrEmpty(f.Value("ports")))
        {
            context.Error(f.IsWritten("ports") ? f.KeyLocation("ports") : f.Location, f.PathOf("ports"),
                "at least one port is required (a toPorts entry without ports matches nothing)");
        }

        var rules = deny ? null : ReadL7Rules(f.Value("rules"), f.PathOf("rules"));
        return new PortRule(ports ?? [], rules, null, path);
    }

    private PortProtocol? ReadPortProtocol(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.PortProtocol);
        if (f is null)
        {
            return null;
        }

        var port = f.String("port");
        var endPort = f.Integer("endPort");
        var protocolText = f.String("protocol");
        var ok = true;
        int? number = null;
        if (port is null)
        {
            context.Error(f.Location, f.PathOf("port"), "Port must be specified");
            ok = false;
        }
        else if (PortValidation.CheckPort(port, out number) is { } portError)
        {
            context.Error(f.ValueLocation("port"), f.PathOf("port"), portError);
            ok = false;
        }

        if (PortValidation.NormalizeProtocol(protocolText, out var protocol) is { } protocolError)
        {
            context.Error(f.ValueLocation("protocol"), f.PathOf("protocol"), protocolError);
            ok = false;
        }

        if (endPort is { } end && ok)
        {
            var at = f.ValueLocation("endPort");
            var endPath = f.PathOf("endPort");
            if (end is < 0 or > 65535)
            {
                context.Error(at, endPath, $"invalid endPort {end}: must be from 0 to 65535");
                ok = false;
            }
            else if (number is null)
            {
                context.Error(at, endPath, $"endPort cannot be used with the named port \"{port}\" (Cilium ignores it there)");
                ok = false;
            }
            else if (number == 0)
            {
                context.Error(at, endPath, "endPort cannot be used with port 0, which already means every port");
                ok = false;
            }
            else if (end < number)
            {
                context.Error(at, endPath, $"endPort {end} must be greater than or equal to port {number}");
                ok = false;
            }
        }

        // Cilium lower-cases port names for case-insensitive comparison (PortProtocol.sanitize).
        return ok ? new PortProtocol(number is null ? port!.ToLowerInvariant() : port!, endPort, protocol) : null;
    }

    private L7Rules? ReadL7Rules(YamlNode? node, string path)
    {
        var f = context.Object(node, path, PolicySchemas.L7Rules);
        if (f is null)
        {
            return null;
        }

        var http = f.List("http", ReadHttp);
        var kafka = f.List("kafka", ReadKafka);
        return http is null && kafka is null ? null : new L7Rules(http, kafka, null, null, null);
    }

    private HttpRule? ReadHttp(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.Http);
        if (f is null)
        {
            return null;
        }

        var method = ReadRegex(f, "method");
        var urlPath = ReadRegex(f, "path");
        var host = ReadRegex(f, "host");
        var headers = f.StringList("headers");
        for (var i = 0; headers is not null && i < headers.Count; i++)
        {
            if (HttpValidation.CheckHeader(headers[i]) is { } error)
            {
                var p = FieldPath.Index(f.PathOf("headers"), i);
                context.Error(context.Locations[p], p, error);
            }
        }

        var headerMatches = f.List("headerMatches", ReadHeaderMatch);
        return new HttpRule(method, urlPath, host, headers, headerMatches);
    }

    private string? ReadRegex(Fields f, string name)
    {
        var pattern = f.String(name);
        if (!string.IsNullOrEmpty(pattern) && HttpValidation.CheckRegex(pattern) is { } error)
        {
            context.Error(f.ValueLocation(name), f.PathOf(name), error);
        }

        return string.IsNullOrEmpty(pattern) ? null : pattern;
    }

    private HeaderMatch? ReadHeaderMatch(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.HeaderMatch);
        if (f is null)
        {
            return null;
        }

        var name = f.String("name");
        var value = f.String("value");
        var mismatchText = f.String("mismatch");
        if (string.IsNullOrEmpty(name))
        {
            context.Error(f.IsWritten("name") ? f.ValueLocation("name") : f.Location, f.PathOf("name"), "Header name missing");
        }
        else if (HttpValidation.CheckHeaderName(name) is { } nameError)
        {
            context.Error(f.ValueLocation("name"), f.PathOf("name"), nameError);
        }

        if (HttpValidation.ParseMismatch(mismatchText, out var mismatch) is { } mismatchError)
        {
            context.Error(f.ValueLocation("mismatch"), f.PathOf("mismatch"), mismatchError);
        }

        HeaderSecret? secret = null;
        if (f.Object("secret", PolicySchemas.Secret) is { } s)
        {
            var secretName = s.String("name");
            if (string.IsNullOrEmpty(secretName))
            {
                context.Error(s.IsWritten("name") ? s.ValueLocation("name") : s.Location, s.PathOf("name"), "Secret name missing");
            }
            else if (string.IsNullOrEmpty(value))
            {
                context.Error(f.KeyLocation("secret"), f.PathOf("secret"),
                    PolicySchemas.NotSupported + "Kubernetes Secrets cannot be resolved; give the expected header value in \"value\" (Cilium's fallback when the secret is missing)");
            }
            else
            {
                secret = new HeaderSecret(s.String("namespace"), secretName);
            }
        }

        return string.IsNullOrEmpty(name) ? null : new HeaderMatch(name, value, mismatch) { Secret = secret };
    }

    private KafkaRule? ReadKafka(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.Kafka);
        if (f is null)
        {
            return null;
        }

        var role = f.String("role");
        var apiKey = f.String("apiKey");
        var apiVersion = f.String("apiVersion");
        var clientId = f.String("clientID");
        var topic = f.String("topic");
        Check("role", role, KafkaValidation.CheckRole);
        Check("apiKey", apiKey, KafkaValidation.CheckApiKey);
        Check("apiVersion", apiVersion, KafkaValidation.CheckApiVersion);
        Check("clientID", clientId, KafkaValidation.CheckClientId);
        Check("topic", topic, KafkaValidation.CheckTopic);
        if (KafkaValidation.CheckRoleAndApiKey(role, apiKey) is { } bothError)
        {
            context.Error(f.KeyLocation("apiKey"), path, bothError);
        }

        return new KafkaRule(NullIfEmpty(role), NullIfEmpty(apiKey), NullIfEmpty(apiVersion), NullIfEmpty(clientId), NullIfEmpty(topic));

        void Check(string name, string? value, Func<string, string?> check)
        {
            if (!string.IsNullOrEmpty(value) && check(value) is { } error)
            {
                context.Error(f.ValueLocation(name), f.PathOf(name), error);
            }
        }
    }

    private IcmpRule? ReadIcmp(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.Icmp);
        if (f is null)
        {
            return null;
        }

        var fields = f.List("fields", ReadIcmpField) ?? [];
        if (fields.Count > MaxIcmpFields)
        {
            context.Error(f.KeyLocation("fields"), f.PathOf("fields"), $"too many types, the max is {MaxIcmpFields}");
        }
        else if (IsMissingOrEmpty(f.Value("fields")))
        {
            context.Error(f.IsWritten("fields") ? f.KeyLocation("fields") : f.Location, f.PathOf("fields"),
                "at least one ICMP field is required (an icmps entry without fields matches nothing)");
        }

        return new IcmpRule(fields);
    }

    private IcmpField? ReadIcmpField(YamlNode node, string path)
    {
        var f = ReadItemObject(node, path, PolicySchemas.IcmpField);
        if (f is null)
        {
            return null;
        }

        var family = f.String("family") ?? IcmpTypes.IPv4;
        var type = f.String("type");
        if (family is not (IcmpTypes.IPv4 or IcmpTypes.IPv6))
        {
            context.Error(f.ValueLocation("family"), f.PathOf("family"), $"wrong family: {family} (expected IPv4 or IPv6)");
            return null;
        }

        if (type is null)
        {
            context.Error(f.Location, f.PathOf("type"), "required field is missing");
            return null;
        }

        if (!IcmpTypes.TryResolve(family, type, out _))
        {
            context.Error(f.ValueLocation("type"), f.PathOf("type"),
                (type.All(char.IsAsciiDigit) ? $"ICMP type {type} is out of range (0 to 255)" : $"ICMP type {type} not found in {family}") +
                Suggestions.Hint(type, IcmpTypes.NamesOf(family)));
            return null;
        }

        return new IcmpField(family, type);
    }

    private static DefaultDenyConfig? ReadDefaultDeny(Fields f) =>
        f.Object("enableDefaultDeny", PolicySchemas.DefaultDeny) is { } d ? new DefaultDenyConfig(d.Boolean("ingress"), d.Boolean("egress")) : null;

    private string? ReadLog(Fields f)
    {
        if (f.Object("log", PolicySchemas.Log) is not { } log)
        {
            return null;
        }

        var value = log.String("value");
        if (value is null)
        {
            return null;
        }

        if (value.Length > MaxLogLength)
        {
            context.Error(log.ValueLocation("value"), log.PathOf("value"), $"log value must be at most {MaxLogLength} characters (it has {value.Length})");
        }
        else if (value.Any(char.IsControl))
        {
            context.Error(log.ValueLocation("value"), log.PathOf("value"), "log value must contain printable characters only");
        }

        return value;
    }

    private StrongBox<Label>? ReadRuleLabel(YamlNode node, string path) => ReadRuleLabelBoxed(node, path) is { } l ? new StrongBox<Label>(l) : null;

    private Label? ReadRuleLabelBoxed(YamlNode node, string path)
    {
        if (node is YamlScalar { IsNull: false } s)
        {
            // Cilium's Label also accepts the short form [source:]key[=value].
            var parsed = Label.Parse(s.Text, Label.SourceUnspec);
            if (parsed.Key.Length == 0)
            {
                context.Error(node.Location, path, $"invalid Label: \"{s.Text}\" has no key");
                return null;
            }

            return parsed;
        }

        var f = ReadItemObject(node, path, PolicySchemas.RuleLabel);
        if (f is null)
        {
            return null;
        }

        var key = f.String("key");
        if (string.IsNullOrEmpty(key))
        {
            context.Error(f.Location, f.PathOf("key"), "invalid Label: must provide a label key");
            return null;
        }

        return new Label(f.String("source") is { Length: > 0 } source ? source : Label.SourceUnspec, key, f.String("value") ?? "");
    }

    private static bool IsMissingOrEmpty(YamlNode? node) =>
        node is null or YamlScalar { IsNull: true } or YamlSequence { Items.Count: 0 };

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
