using System.Collections.Immutable;
using System.Globalization;
using Membrane.Policy.Endpoints;
using Membrane.Policy.Identity;
using Membrane.Policy.L7.Http;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Selectors;
using Membrane.Policy.Validation;

namespace Membrane.Policy.Repository;

/// <summary>
/// Compiles a validated <see cref="PolicyResource"/> into selectors and port blocks (pure: no selector cache, no
/// identities). Anything that still cannot be interpreted is an error naming file, line and field; features Membrane
/// cannot enforce yet are warnings, and the rule they are in fails closed (opens nothing).
/// </summary>
internal static class RuleCompiler
{
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Sctp = 132;
    public const byte IcmpProtocolV4 = 1;
    public const byte IcmpProtocolV6 = 58;

    /// <summary>Compiles <paramref name="resource"/>; throws <see cref="PolicyCompileException"/> listing every error.</summary>
    public static CompiledPolicy Compile(PolicyResource resource, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var ctx = new Context(resource, clusterName);
        var policy = new CompiledPolicy(resource);
        var rules = new List<CompiledRule>();
        foreach (var rule in resource.Rules)
        {
            rules.Add(CompileRule(ctx, policy, rule));
        }

        if (ctx.Errors.Count > 0)
        {
            throw new PolicyCompileException(ctx.Errors);
        }

        policy.Rules = [.. rules];
        policy.Prefixes = [.. ctx.Prefixes.Order()];
        policy.Warnings = [.. ctx.Warnings];
        return policy;
    }

    private static CompiledRule CompileRule(Context ctx, CompiledPolicy policy, PolicyRule rule)
    {
        var ns = policy.Resource.Kind == PolicyKind.CiliumClusterwideNetworkPolicy ? null : policy.Resource.Namespace ?? "default";
        LabelSelector? subject = null;
        if (rule.EndpointSelector is { } es)
        {
            subject = SelectorFactory.Subject(es, ns);
        }
        else if (rule.NodeSelector is not null)
        {
            ctx.Warn(rule.FieldPath + ".nodeSelector", "host policies (nodeSelector) are not enforced by Membrane: this rule selects no endpoint");
        }

        var subjectSelectsInit = subject is not null && SelectorFactory.SelectsInit(subject);
        var hasIngress = (rule.Ingress?.Count ?? 0) > 0 || (rule.IngressDeny?.Count ?? 0) > 0;
        var hasEgress = (rule.Egress?.Count ?? 0) > 0 || (rule.EgressDeny?.Count ?? 0) > 0;
        var compiled = new CompiledRule(
            policy,
            rule.FieldPath,
            subject,
            hasIngress,
            hasEgress,
            hasIngress && (rule.EnableDefaultDeny?.Ingress ?? true),
            hasEgress && (rule.EnableDefaultDeny?.Egress ?? true));

        var ingress = new List<CompiledPeerRule>();
        foreach (var r in rule.Ingress ?? [])
        {
            ingress.Add(CompileIngress(ctx, compiled, r, isDeny: false, ns, subjectSelectsInit));
        }

        foreach (var r in rule.IngressDeny ?? [])
        {
            ingress.Add(CompileIngress(ctx, compiled, r, isDeny: true, ns, subjectSelectsInit));
        }

        var egress = new List<CompiledPeerRule>();
        foreach (var r in rule.Egress ?? [])
        {
            egress.Add(CompileEgress(ctx, compiled, r, isDeny: false, ns, subjectSelectsInit));
        }

        foreach (var r in rule.EgressDeny ?? [])
        {
            egress.Add(CompileEgress(ctx, compiled, r, isDeny: true, ns, subjectSelectsInit));
        }

        compiled.Ingress = [.. ingress];
        compiled.Egress = [.. egress];
        return compiled;
    }

    private static CompiledPeerRule CompileIngress(Context ctx, CompiledRule rule, IngressRule r, bool isDeny, string? ns, bool init)
    {
        var selectors = new List<LabelSelector>();
        var wildcard = r.FromEndpoints is null && r.FromCidr is null && r.FromCidrSet is null && r.FromEntities is null && r.FromNodes is null;
        wildcard &= AddPeers(ctx, selectors, r.FieldPath, "from", r.FromEndpoints, r.FromCidr, r.FromCidrSet, r.FromEntities, r.FromNodes, ns, init);
        var ports = CompilePorts(ctx, r.FieldPath, r.ToPorts, r.Icmps, isDeny);
        return Finish(rule, TrafficDirection.Ingress, isDeny, r.FieldPath, wildcard, r.ToPorts, r.Icmps, selectors, ports);
    }

    private static CompiledPeerRule CompileEgress(Context ctx, CompiledRule rule, EgressRule r, bool isDeny, string? ns, bool init)
    {
        var selectors = new List<LabelSelector>();
        var wildcard = r.ToEndpoints is null && r.ToCidr is null && r.ToCidrSet is null && r.ToEntities is null && r.ToNodes is null
            && r.ToServices is null && r.ToFqdns is null;
        wildcard &= AddPeers(ctx, selectors, r.FieldPath, "to", r.ToEndpoints, r.ToCidr, r.ToCidrSet, r.ToEntities, r.ToNodes, ns, init);
        if (r.ToServices is not null)
        {
            ctx.Warn(r.FieldPath + ".toServices", "toServices is not supported yet (Membrane has no service registry): it selects no peer");
        }

        if (r.ToFqdns is not null)
        {
            ctx.Warn(r.FieldPath + ".toFQDNs", "toFQDNs is not supported yet (Membrane has no DNS proxy): it selects no peer");
        }

        var ports = CompilePorts(ctx, r.FieldPath, r.ToPorts, r.Icmps, isDeny);
        return Finish(rule, TrafficDirection.Egress, isDeny, r.FieldPath, wildcard, r.ToPorts, r.Icmps, selectors, ports);
    }

    private static CompiledPeerRule Finish(
        CompiledRule rule, TrafficDirection d, bool isDeny, string path, bool wildcard,
        IReadOnlyList<PortRule>? toPorts, IReadOnlyList<IcmpRule>? icmps, List<LabelSelector> selectors, List<CompiledPortRule> ports)
    {
        // Cilium: a rule without any L3 peer is wildcarded on L3 only when it has L4 (toPorts or icmps); `ingress: [{}]`
        // selects nothing ("default deny, allow nothing").
        var hasL4 = (toPorts?.Count ?? 0) > 0 || (icmps?.Count ?? 0) > 0;
        wildcard &= hasL4;
        if (selectors.Any(s => s.IsWildcard))
        {
            wildcard = true;
        }

        return new CompiledPeerRule(
            rule, d, isDeny, path, wildcard,
            wildcard ? [] : [.. selectors.Distinct()],
            hasL4 ? [.. ports] : null);
    }

    /// <summary>Adds the selectors of every peer field; returns false if an entity <c>all</c> was not among them.</summary>
    private static bool AddPeers(
        Context ctx, List<LabelSelector> selectors, string path, string prefix,
        IReadOnlyList<EndpointSelector>? endpoints, IReadOnlyList<string>? cidrs, IReadOnlyList<CidrRule>? cidrSets,
        IReadOnlyList<string>? entities, IReadOnlyList<EndpointSelector>? nodes, string? ns, bool init)
    {
        foreach (var es in endpoints ?? [])
        {
            selectors.Add(SelectorFactory.Peer(es, ns, init));
        }

        for (var i = 0; i < (cidrs?.Count ?? 0); i++)
        {
            var field = $"{path}.{prefix}CIDR[{i}]";
            if (!IpPrefix.TryParse(cidrs![i], out var p))
            {
                ctx.Error(field, $"invalid CIDR \"{cidrs[i]}\"");
                continue;
            }

            ctx.Prefixes.Add(p);
            selectors.AddRange(SelectorFactory.Cidr(p, []));
        }

        for (var i = 0; i < (cidrSets?.Count ?? 0); i++)
        {
            var set = cidrSets![i];
            var field = $"{path}.{prefix}CIDRSet[{i}]";
            if (set.Cidr is null)
            {
                ctx.Warn(field, "cidrGroupRef and cidrGroupSelector are not supported yet (Membrane has no CiliumCIDRGroup source): this entry selects no peer");
                continue;
            }

            if (!IpPrefix.TryParse(set.Cidr, out var p))
            {
                ctx.Error(field + ".cidr", $"invalid CIDR \"{set.Cidr}\"");
                continue;
            }

            var except = new List<IpPrefix>();
            for (var j = 0; j < set.Except.Count; j++)
            {
                if (!IpPrefix.TryParse(set.Except[j], out var e))
                {
                    ctx.Error($"{field}.except[{j}]", $"invalid CIDR \"{set.Except[j]}\"");
                }
                else if (!p.Contains(e))
                {
                    ctx.Error($"{field}.except[{j}]", $"allow CIDR prefix {p} does not contain exclude CIDR prefix {e}");
                }
                else
                {
                    except.Add(e);
                }
            }

            ctx.Prefixes.Add(p);
            ctx.Prefixes.UnionWith(except);
            selectors.AddRange(SelectorFactory.Cidr(p, except));
        }

        var wildcard = false;
        for (var i = 0; i < (entities?.Count ?? 0); i++)
        {
            try
            {
                var selection = SelectorFactory.Entities([entities![i]], ctx.ClusterName);
                wildcard |= selection.Wildcard;
                selectors.AddRange(selection.Selectors);
            }
            catch (ArgumentException)
            {
                ctx.Error($"{path}.{prefix}Entities[{i}]", $"unsupported entity: {entities![i]}");
            }
        }

        foreach (var es in nodes ?? [])
        {
            selectors.Add(SelectorFactory.Node(es));
        }

        if (wildcard)
        {
            selectors.Add(LabelSelector.Wildcard);
        }

        return !wildcard;
    }

    private static List<CompiledPortRule> CompilePorts(Context ctx, string path, IReadOnlyList<PortRule>? toPorts, IReadOnlyList<IcmpRule>? icmps, bool isDeny)
    {
        var result = new List<CompiledPortRule>();
        foreach (var pr in toPorts ?? [])
        {
            result.Add(CompilePortRule(ctx, pr, isDeny));
        }

        for (var i = 0; i < (icmps?.Count ?? 0); i++)
        {
            var specs = new List<PortSpec>();
            var fields = icmps![i].Fields;
            for (var j = 0; j < fields.Count; j++)
            {
                var f = fields[j];
                var family = string.IsNullOrEmpty(f.Family) ? IcmpTypes.IPv4 : f.Family;
                if (family is not (IcmpTypes.IPv4 or IcmpTypes.IPv6) || !IcmpTypes.TryResolve(family, f.Type, out var type))
                {
                    ctx.Error($"{path}.icmps[{i}].fields[{j}]", $"invalid ICMP type \"{f.Type}\" for family {family}");
                    continue;
                }

                specs.Add(new PortSpec(family == IcmpTypes.IPv6 ? IcmpProtocolV6 : IcmpProtocolV4, type, 16));
            }

            result.Add(new CompiledPortRule($"{path}.icmps[{i}]", [.. specs.Distinct()], [], L7Protocol.None, [], [], false));
        }

        return result;
    }

    private static CompiledPortRule CompilePortRule(Context ctx, PortRule pr, bool isDeny)
    {
        var specs = new List<PortSpec>();
        var named = new List<NamedPortRef>();
        var ports = pr.Ports.Count == 0 ? [new PortProtocol("0", null, "ANY")] : pr.Ports;
        for (var i = 0; i < ports.Count; i++)
        {
            var pp = ports[i];
            var field = $"{pr.FieldPath}.ports[{i}]";
            var protocols = Protocols(pp.Protocol);
            if (protocols is null)
            {
                ctx.Error(field + ".protocol", $"unsupported protocol \"{pp.Protocol}\"");
                continue;
            }

            var portText = string.IsNullOrEmpty(pp.Port) ? "0" : pp.Port;
            if (ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                var end = pp.EndPort ?? 0;
                if (port != 0 && end != 0 && end < port)
                {
                    ctx.Error(field + ".endPort", $"endPort {end} is lower than port {port}");
                    continue;
                }

                if (end > ushort.MaxValue)
                {
                    ctx.Error(field + ".endPort", $"endPort {end} is out of range 0-65535");
                    continue;
                }

                IReadOnlyList<(ushort Port, byte PrefixLength)> blocks = port == 0
                    ? [(0, 0)]
                    : end > port ? PortPrefixes.Split(port, (ushort)end) : [(port, 16)];
                foreach (var proto in protocols)
                {
                    foreach (var (p, len) in blocks)
                    {
                        specs.Add(new PortSpec(proto, p, len));
                    }
                }
            }
            else if (IsPortName(portText))
            {
                // Cilium lower-cases port names; endPort is ignored for them (reference §1.7).
                foreach (var proto in protocols)
                {
                    named.Add(new NamedPortRef(portText.ToLowerInvariant(), proto));
                }
            }
            else
            {
                ctx.Error(field + ".port", $"invalid port \"{pp.Port}\": a number 0-65535 or a port name");
            }
        }

        var l7 = L7Protocol.None;
        IReadOnlyList<HttpRule> http = [];
        IReadOnlyList<KafkaRule> kafka = [];
        var unenforceable = false;
        if (pr.Rules is { } rules && !isDeny)
        {
            if (rules.Http is not null)
            {
                l7 = L7Protocol.Http;
                http = rules.Http.Count == 0 ? [new HttpRule()] : rules.Http;
                ValidateHttp(ctx, pr.FieldPath + ".rules.http", http);
            }
            else if (rules.Kafka is not null)
            {
                l7 = L7Protocol.Kafka;
                kafka = rules.Kafka.Count == 0 ? [new KafkaRule()] : rules.Kafka;
                ValidateKafka(ctx, pr.FieldPath + ".rules.kafka", kafka);
            }
            else if (rules.Dns is not null || rules.L7Proto is not null || rules.L7 is not null)
            {
                unenforceable = true;
                ctx.Warn(pr.FieldPath + ".rules", "DNS and generic (l7proto) L7 rules are not enforced by Membrane yet: this port rule allows nothing");
            }
        }

        return new CompiledPortRule(pr.FieldPath, [.. specs.Distinct()], [.. named.Distinct()], l7, http, kafka, unenforceable);
    }

    private static void ValidateHttp(Context ctx, string path, IReadOnlyList<HttpRule> rules)
    {
        try
        {
            HttpRuleSet.Compile(rules.Select(r => (r, new PolicyRef("", null, ""))));
        }
        catch (ArgumentException e)
        {
            ctx.Error(path, e.Message);
        }
    }

    private static void ValidateKafka(Context ctx, string path, IReadOnlyList<KafkaRule> rules)
    {
        try
        {
            KafkaRuleSet.Compile(rules.Select(r => (r, new PolicyRef("", null, ""))));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            ctx.Error(path, e.Message);
        }
    }

    private static byte[]? Protocols(string? protocol) => (protocol ?? "").ToUpperInvariant() switch
    {
        "" or "ANY" => [Tcp, Udp, Sctp],
        "TCP" => [Tcp],
        "UDP" => [Udp],
        "SCTP" => [Sctp],
        "VRRP" => [112],
        "IGMP" => [2],
        _ => null,
    };

    /// <summary>IANA service name syntax (RFC 6335 §5.1): 1–15 letters, digits and inner hyphens, at least one letter.</summary>
    private static bool IsPortName(string text) =>
        text.Length is > 0 and <= 15 && text.Any(char.IsAsciiLetter) && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
        && text[0] != '-' && text[^1] != '-' && !text.Contains("--", StringComparison.Ordinal);

    private sealed class Context(PolicyResource resource, string clusterName)
    {
        public string ClusterName { get; } = clusterName;

        public List<PolicyError> Errors { get; } = [];

        public List<PolicyError> Warnings { get; } = [];

        public HashSet<IpPrefix> Prefixes { get; } = [];

        public void Error(string path, string message) => Errors.Add(new PolicyError(resource.LocationOf(path), path, message));

        public void Warn(string path, string message) => Warnings.Add(new PolicyError(resource.LocationOf(path), path, message));
    }
}

/// <summary>A policy could not be compiled; <see cref="Errors"/> names every problem with file, line and field.</summary>
public sealed class PolicyCompileException : Exception
{
    /// <summary>Creates the exception from its errors.</summary>
    public PolicyCompileException(IReadOnlyList<PolicyError> errors)
        : base(string.Join(Environment.NewLine, errors)) => Errors = errors;

    /// <summary>Creates an exception with a message and no located errors.</summary>
    public PolicyCompileException(string message)
        : base(message) => Errors = [];

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public PolicyCompileException(string message, Exception inner)
        : base(message, inner) => Errors = [];

    /// <summary>Creates an exception without errors.</summary>
    public PolicyCompileException()
        : this("policy could not be compiled")
    {
    }

    /// <summary>The problems, in document order.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }
}
