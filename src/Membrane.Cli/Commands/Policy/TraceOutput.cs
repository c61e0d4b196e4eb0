using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Repository;
using Membrane.Policy.Trace;

namespace Membrane.Cli.Commands.Policy;

/// <summary>Renders a <see cref="TraceResult"/> for people (text) and programs (<c>-o json</c>).</summary>
internal static class TraceOutput
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Text(TraceResult r, TraceRequest request)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Tracing {Protocol(r.Protocol)} {Party(r.Source)} -> {Party(r.Destination)} {PortLabel(r.Protocol)} {r.Port}");
        if (request.Http is { } h)
        {
            var hostText = h.Host.Length > 0 ? $" Host: {h.Host}" : "";
            sb.AppendLine(CultureInfo.InvariantCulture, $"HTTP request: {h.Method} {h.Path}{hostText}{string.Concat(h.Headers.Select(x => $" [{x.Key}: {x.Value}]"))}");
        }

        if (request.Kafka is { } k)
        {
            var what = k.Role is null ? "api key " + k.ApiKey : "role " + k.Role;
            var version = k.ApiVersion is { } v ? $" v{v}" : "";
            var topic = k.Topic is null ? "" : $" topic {k.Topic}";
            var client = k.ClientId is null ? "" : $" client {k.ClientId}";
            sb.AppendLine(CultureInfo.InvariantCulture, $"Kafka request: {what}{version}{topic}{client}");
        }

        foreach (var w in r.Warnings)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"warning: {w}");
        }

        sb.AppendLine();
        var port = $"{r.Port.ToString(CultureInfo.InvariantCulture)}/{Protocol(r.Protocol)}";
        Side(sb, "Egress of the source", r.Source, r.Egress, r.Destination, port);
        Side(sb, "Ingress of the destination", r.Destination, r.Ingress, r.Source, port);
        sb.AppendLine(CultureInfo.InvariantCulture, $"Final verdict: {(r.Verdict == TraceVerdict.Allowed ? "ALLOWED" : "DENIED")}");
        return sb.ToString();
    }

    public static string Json(TraceResult r, TraceRequest request)
    {
        var root = new JsonObject
        {
            ["verdict"] = r.Verdict == TraceVerdict.Allowed ? "allowed" : "denied",
            ["protocol"] = Protocol(r.Protocol),
            ["port"] = r.Port,
            ["source"] = Party(r.Source, request.Source.Namespace),
            ["destination"] = Party(r.Destination, request.Destination.Namespace),
            ["egress"] = Side(r.Egress),
            ["ingress"] = Side(r.Ingress),
            ["warnings"] = new JsonArray([.. r.Warnings.Select(w => (JsonNode)w.ToString())]),
        };
        if (request.Http is { } h)
        {
            root["http"] = new JsonObject
            {
                ["method"] = h.Method,
                ["path"] = h.Path,
                ["host"] = h.Host,
                ["headers"] = new JsonArray([.. h.Headers.Select(x => (JsonNode)$"{x.Key}: {x.Value}")]),
            };
        }

        if (request.Kafka is { } k)
        {
            root["kafka"] = new JsonObject
            {
                ["role"] = k.Role,
                ["apiKey"] = k.ApiKey,
                ["apiVersion"] = k.ApiVersion,
                ["topic"] = k.Topic,
                ["clientId"] = k.ClientId,
            };
        }

        return root.ToJsonString(Indented) + Environment.NewLine;
    }

    private static void Side(StringBuilder sb, string title, TraceParty owner, TraceSide? side, TraceParty peer, string port)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"{title}: {Party(owner)}");
        if (side is null)
        {
            sb.AppendLine("  not a Membrane endpoint: no policy is enforced on this side");
            sb.AppendLine();
            return;
        }

        sb.AppendLine(side.Enforced
            ? $"  enforcement: default deny, enabled by {string.Join(", ", side.DefaultDenyBy)}"
            : $"  enforcement: off (no policy puts this endpoint into default deny for {Direction(side.Direction)}): everything not denied is allowed");
        if (side.MatchedKey is { } key && side.MatchedEntry is { } entry)
        {
            var from = entry.DerivedFrom.IsEmpty ? "" : $" (from {string.Join(", ", entry.DerivedFrom.Select(p => p.QualifiedName))})";
            sb.AppendLine(CultureInfo.InvariantCulture, $"  map entry: {Identity(key.Identity, peer)} {key.PortProtocolText} -> {Verdict(entry)}{from}");
            foreach (var rule in side.Rules)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"    {VerdictWord(rule.Verdict)} by {rule}");
            }
        }

        switch (side.Verdict)
        {
            case LookupVerdict.Denied when side.DropReason == PolicyDropReason.PolicyDenied:
                sb.AppendLine(CultureInfo.InvariantCulture, $"  verdict: DENIED (drop reason 133, Policy denied): no rule allows {Identity(peer.Identity.Value, peer)} on {port}; default deny is enabled by {string.Join(", ", side.DefaultDenyBy)}");
                break;
            case LookupVerdict.Denied:
                sb.AppendLine("  verdict: DENIED (drop reason 181, Policy denied by denylist)");
                break;
            case LookupVerdict.Redirected:
                sb.AppendLine(CultureInfo.InvariantCulture, $"  L3/L4: allowed, redirected to the {side.L7?.Protocol.ToString().ToUpperInvariant()} proxy; L7 policies: {string.Join(", ", side.L7?.Policies.Select(p => p.QualifiedName) ?? [])}");
                sb.AppendLine(CultureInfo.InvariantCulture, $"  L7: {side.L7?.Detail}");
                sb.AppendLine(side.L7?.Allowed switch
                {
                    true => "  verdict: ALLOWED",
                    false => "  verdict: DENIED at L7",
                    null => "  verdict: ALLOWED at L3/L4 (each request is decided by the L7 rules)",
                });
                break;
            default:
                sb.AppendLine("  verdict: ALLOWED");
                break;
        }

        sb.AppendLine();
    }

    private static JsonNode? Side(TraceSide? side)
    {
        if (side is null)
        {
            return null;
        }

        var o = new JsonObject
        {
            ["endpoint"] = side.Endpoint,
            ["enforced"] = side.Enforced,
            ["defaultDenyBy"] = Refs(side.DefaultDenyBy),
            ["verdict"] = side.Verdict switch
            {
                LookupVerdict.Allowed => "allowed",
                LookupVerdict.Redirected => "redirected",
                _ => "denied",
            },
            ["allowed"] = side.Allows,
            ["dropReason"] = side.DropReason == PolicyDropReason.None ? null : (int)side.DropReason,
            ["dropReasonText"] = side.DropReason switch
            {
                PolicyDropReason.PolicyDenied => "Policy denied",
                PolicyDropReason.PolicyDenyList => "Policy denied by denylist",
                _ => null,
            },
        };
        if (side.MatchedKey is { } key && side.MatchedEntry is { } entry)
        {
            o["entry"] = new JsonObject
            {
                ["identity"] = key.Identity,
                ["protocol"] = key.Protocol,
                ["port"] = key.PortProtocolText,
                ["verdict"] = entry.Verdict.ToString().ToLowerInvariant(),
                ["l7"] = entry.L7 == L7Protocol.None ? null : entry.L7.ToString().ToLowerInvariant(),
                ["derivedFrom"] = Refs(entry.DerivedFrom),
            };
        }
        else
        {
            o["entry"] = null;
        }

        o["rules"] = new JsonArray([.. side.Rules.Select(Rule)]);
        o["l7"] = side.L7 is { } l7
            ? new JsonObject
            {
                ["protocol"] = l7.Protocol.ToString().ToLowerInvariant(),
                ["policies"] = Refs(l7.Policies),
                ["evaluated"] = l7.Evaluated,
                ["allowed"] = l7.Allowed,
                ["decidedBy"] = l7.DecidedBy is { } d ? Ref(d) : null,
                ["detail"] = l7.Detail,
            }
            : null;
        return o;
    }

    private static JsonNode Rule(RuleAttribution a) => new JsonObject
    {
        ["policy"] = a.Policy is { } p ? Ref(p) : null,
        ["field"] = a.PortFieldPath ?? a.RuleFieldPath,
        ["location"] = a.Location?.ToString(),
        ["verdict"] = a.Verdict.ToString().ToLowerInvariant(),
        ["description"] = a.ToString(),
    };

    private static JsonArray Refs(IEnumerable<PolicyRef> refs) => new([.. refs.Select(Ref)]);

    private static JsonNode Ref(PolicyRef p) => new JsonObject { ["kind"] = p.Kind, ["namespace"] = p.Namespace, ["name"] = p.Name };

    private static JsonNode Party(TraceParty p, string ns) => new JsonObject
    {
        ["name"] = p.Name,
        ["namespace"] = p.IsEndpoint ? ns : null,
        ["identity"] = p.Identity.Value,
        ["labels"] = new JsonArray([.. p.Labels.Select(l => (JsonNode)l.ToString())]),
        ["endpoint"] = p.IsEndpoint,
    };

    private static string Party(TraceParty p) => $"{p.Name} (identity {p.Identity})";

    private static string Identity(uint identity, TraceParty peer) =>
        identity == 0 ? "any identity" : identity == peer.Identity.Value ? $"identity {identity} ({peer.Labels})" : $"identity {identity}";

    private static string Verdict(PolicyEntry e) => e.Verdict switch
    {
        PolicyVerdict.Allow => "allow",
        PolicyVerdict.Deny => "deny",
        _ => $"redirect to the {e.L7.ToString().ToUpperInvariant()} proxy",
    };

    private static string VerdictWord(PolicyVerdict v) => v switch
    {
        PolicyVerdict.Allow => "allowed",
        PolicyVerdict.Deny => "denied",
        _ => "allowed with L7 rules",
    };

    private static string Direction(TrafficDirection d) => d == TrafficDirection.Ingress ? "ingress" : "egress";

    private static string PortLabel(byte protocol) => protocol is 1 or 58 ? "type" : "port";

    private static string Protocol(byte p) => p switch
    {
        6 => "TCP",
        17 => "UDP",
        132 => "SCTP",
        1 => "ICMP",
        58 => "ICMPv6",
        _ => p.ToString(CultureInfo.InvariantCulture),
    };
}
