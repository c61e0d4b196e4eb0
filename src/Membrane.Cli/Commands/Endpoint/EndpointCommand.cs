using System.CommandLine;
using System.Globalization;
using System.Text;
using Membrane.Agent.Api;
using Membrane.Cli.Output;

namespace Membrane.Cli.Commands.Endpoint;

/// <summary>
/// <c>membrane endpoint list|get|create|delete</c>: the workloads the agent enforces, as <c>cilium-dbg endpoint</c>
/// shows them (ENDPOINT, POLICY (ingress) ENFORCEMENT, POLICY (egress) ENFORCEMENT, IDENTITY, LABELS, IPv4, STATUS),
/// plus whether L7 traffic goes through the proxy (PROXY).
/// </summary>
internal static class EndpointCommand
{
    public static Command Build()
    {
        var command = new Command("endpoint", "List, inspect, create and delete endpoints (the pods the agent enforces).");
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildGet());
        command.Subcommands.Add(BuildCreate());
        command.Subcommands.Add(BuildDelete());
        return command;
    }

    public static string Table(IReadOnlyList<EndpointModel> endpoints)
    {
        var table = new TextTable("ENDPOINT", "POLICY (ingress)\nENFORCEMENT", "POLICY (egress)\nENFORCEMENT", "IDENTITY",
            "LABELS (source:key[=value])", "IPv4", "STATUS", "PROXY");
        foreach (var e in endpoints)
        {
            table.Add(
                e.Id.ToString(CultureInfo.InvariantCulture),
                e.IngressEnforcement,
                e.EgressEnforcement,
                e.Identity.ToString(CultureInfo.InvariantCulture),
                e.Labels.Count == 0 ? "-" : string.Join('\n', e.Labels),
                e.IPv4,
                e.Status,
                Proxy(e));
        }

        return table.ToString();
    }

    public static string Detail(EndpointModel e)
    {
        var rows = new List<(string, string)>
        {
            ("Endpoint", e.Id.ToString(CultureInfo.InvariantCulture)),
            ("Pod", $"{e.Namespace}/{e.PodName}"),
            ("Interface", $"{e.InterfaceName} (ifindex {e.InterfaceIndex}, {e.AttachMode})"),
            ("IPv4", e.IPv4),
            ("Identity", e.Identity.ToString(CultureInfo.InvariantCulture)),
            ("Labels", string.Join('\n', e.Labels)),
            ("Status", $"{e.Status} (policy revision {e.PolicyRevision})"),
            ("Ingress", Direction(e.IngressEnforcement, e.IngressEntries, e.IngressPolicies)),
            ("Egress", Direction(e.EgressEnforcement, e.EgressEntries, e.EgressPolicies)),
            ("Proxy", e.ProxyRedirects.Count == 0 ? "-" : string.Join('\n', e.ProxyRedirects.Select(r => $"{r.Direction} {r.PortProtocol} {r.L7} -> proxy port {r.ProxyPort}"))),
            ("Named ports", e.NamedPorts.Count == 0 ? "-" : string.Join(", ", e.NamedPorts.Select(p => $"{p.Name} {p.Port}/{p.Protocol}"))),
            ("Created", e.Created.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
        };
        var sb = new StringBuilder();
        foreach (var (key, value) in rows)
        {
            var lines = value.Split('\n');
            sb.Append($"{key + ":",-14}").Append(lines[0]).Append('\n');
            foreach (var more in lines.Skip(1))
            {
                sb.Append(new string(' ', 14)).Append(more).Append('\n');
            }
        }

        return sb.ToString();
    }

    private static string Direction(string enforcement, int entries, IReadOnlyList<PolicyRefModel> policies) =>
        $"{enforcement}, {entries} {(entries == 1 ? "entry" : "entries")}" +
        (policies.Count == 0 ? "" : ", default deny by " + string.Join(", ", policies.Select(p => $"{p} ({p.Kind})")));

    private static string Proxy(EndpointModel e) =>
        e.ProxyRedirects.Count == 0 ? "-" : string.Join('\n', e.ProxyRedirects.Select(r => $"{r.Direction} {r.PortProtocol} {r.L7}"));

    private static Command BuildList()
    {
        var output = AgentCall.Output("table", "json");
        var command = new Command("list", "List endpoints.");
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var endpoints = await client.ListEndpointsAsync(token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, endpoints, ApiJson.Indented.ListEndpointModel);
            }
            else
            {
                writer.Write(Table(endpoints));
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command BuildGet()
    {
        var id = new Argument<string>("ENDPOINT") { Description = "Endpoint id, or pod name as [namespace/]name." };
        var output = AgentCall.Output("text", "json");
        var command = new Command("get", "Show one endpoint.");
        command.Arguments.Add(id);
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var endpoint = await client.GetEndpointAsync(parse.GetValue(id)!, token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, endpoint, ApiJson.Indented.EndpointModel);
            }
            else
            {
                writer.Write(Detail(endpoint));
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command BuildCreate()
    {
        var pod = new Option<string>("--pod") { Description = "The pod as [namespace/]name (namespace default: default).", Required = true };
        var labels = new Option<string[]>("--label", "-l") { Description = "A pod label key=value (repeatable).", AllowMultipleArgumentsPerToken = true };
        var nsLabels = new Option<string[]>("--namespace-label") { Description = "A label of the pod's namespace key=value (repeatable)." };
        var iface = new Option<string>("--interface") { Description = "The pod's host-side veth in the node namespace.", Required = true };
        var ip = new Option<string>("--ipv4") { Description = "The pod's IPv4 address.", Required = true };
        var ports = new Option<string[]>("--named-port") { Description = "A named port NAME=PORT[/PROTOCOL] (repeatable)." };
        var output = AgentCall.Output("text", "json");
        var command = new Command("create", "Create an endpoint for a pod (or adopt the existing one of the same pod).");
        foreach (var o in new Option[] { pod, labels, nsLabels, iface, ip, ports, output })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, ct) =>
        {
            EndpointCreateRequest request;
            try
            {
                var (ns, name) = SplitPod(parse.GetValue(pod)!);
                request = new EndpointCreateRequest
                {
                    PodName = name,
                    Namespace = ns,
                    Labels = KeyValues("--label", parse.GetValue(labels) ?? []),
                    NamespaceLabels = KeyValues("--namespace-label", parse.GetValue(nsLabels) ?? []),
                    InterfaceName = parse.GetValue(iface)!,
                    IPv4 = parse.GetValue(ip)!,
                    NamedPorts = [.. (parse.GetValue(ports) ?? []).Select(NamedPort)],
                };
            }
            catch (FormatException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }

            return AgentCall.RunAsync(parse, async (client, writer, token) =>
            {
                var endpoint = await client.CreateEndpointAsync(request, token).ConfigureAwait(false);
                if (parse.GetValue(output) == "json")
                {
                    AgentCall.WriteJson(writer, endpoint, ApiJson.Indented.EndpointModel);
                }
                else
                {
                    writer.WriteLine($"{(endpoint.Adopted ? "adopted" : "created")} endpoint {endpoint.Id} for {endpoint.Namespace}/{endpoint.PodName} (identity {endpoint.Identity}, {endpoint.Status})");
                }

                return 0;
            }, ct);
        });
        return command;
    }

    private static Command BuildDelete()
    {
        var id = new Argument<string>("ENDPOINT") { Description = "Endpoint id, or pod name as [namespace/]name." };
        var command = new Command("delete", "Delete an endpoint: its programs are detached and its maps removed.");
        command.Arguments.Add(id);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var endpoint = await client.DeleteEndpointAsync(parse.GetValue(id)!, token).ConfigureAwait(false);
            writer.WriteLine($"deleted endpoint {endpoint.Id} ({endpoint.Namespace}/{endpoint.PodName})");
            return 0;
        }, ct));
        return command;
    }

    private static (string Namespace, string Name) SplitPod(string pod)
    {
        var slash = pod.IndexOf('/', StringComparison.Ordinal);
        var (ns, name) = slash < 0 ? ("default", pod) : (pod[..slash], pod[(slash + 1)..]);
        return ns.Length == 0 || name.Length == 0 || name.Contains('/', StringComparison.Ordinal)
            ? throw new FormatException($"--pod \"{pod}\": expected [namespace/]name")
            : (ns, name);
    }

    private static Dictionary<string, string> KeyValues(string flag, IEnumerable<string> items)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"{flag} \"{item}\": expected key=value");
            }

            result[item[..eq]] = item[(eq + 1)..];
        }

        return result;
    }

    private static NamedPortModel NamedPort(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var rest = eq > 0 ? text[(eq + 1)..] : "";
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var portText = slash < 0 ? rest : rest[..slash];
        var protocol = slash < 0 ? "TCP" : rest[(slash + 1)..].ToUpperInvariant();
        return eq > 0 && int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? new NamedPortModel(text[..eq].ToLowerInvariant(), port, protocol)
            : throw new FormatException($"--named-port \"{text}\": expected NAME=PORT[/PROTOCOL], e.g. http=80/TCP");
    }
}
