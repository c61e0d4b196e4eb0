using System.CommandLine;
using System.Globalization;
using System.Text;
using Membrane.Agent.Api;
using Membrane.Cli.Output;

namespace Membrane.Cli.Commands.Policy;

/// <summary>
/// <c>membrane policy get [NAME] [-n NAMESPACE] [-o table|json|yaml]</c>: the policies the agent enforces and the
/// revision. Without a name, a table (NAMESPACE NAME KIND SOURCE REVISION ENDPOINTS); with a name, the text it was
/// imported from.
/// </summary>
internal static class PolicyGetCommand
{
    public static Command Build()
    {
        var name = new Argument<string?>("NAME") { Description = "A policy name ([namespace/]name); none lists every policy.", Arity = ArgumentArity.ZeroOrOne };
        var ns = new Option<string?>("--namespace", "-n") { Description = "Namespace of the named policy (default: default, or cluster-wide)." };
        var output = AgentCall.Output("table", "json", "yaml");
        var command = new Command("get", "Show the policies the agent enforces, and the policy revision.");
        command.Arguments.Add(name);
        command.Options.Add(ns);
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var format = parse.GetValue(output);
            var list = await client.ListPoliciesAsync(withText: format != "table" || parse.GetValue(name) is not null, token).ConfigureAwait(false);
            var selected = list.Policies;
            if (parse.GetValue(name) is { } wanted)
            {
                var slash = wanted.IndexOf('/', StringComparison.Ordinal);
                var (wantNs, wantName) = slash < 0 ? (parse.GetValue(ns), wanted) : (wanted[..slash], wanted[(slash + 1)..]);
                selected = [.. list.Policies.Where(p => p.Policy.Name == wantName &&
                    (wantNs is null ? p.Policy.Namespace is null or "default" : p.Policy.Namespace == wantNs))];
                if (selected.Count == 0)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: no policy \"{wanted}\" is loaded (revision {list.Revision})");
                    return 1;
                }
            }

            var filtered = new PolicyListResponse(list.Revision, selected);
            switch (format)
            {
                case "json":
                    AgentCall.WriteJson(writer, filtered, ApiJson.Indented.PolicyListResponse);
                    break;
                case "yaml":
                    writer.Write(Texts(filtered));
                    break;
                default:
                    writer.Write(parse.GetValue(name) is null ? Table(filtered) : Texts(filtered));
                    break;
            }

            return 0;
        }, ct));
        return command;
    }

    public static string Table(PolicyListResponse list)
    {
        var table = new TextTable("NAMESPACE", "NAME", "KIND", "SOURCE", "REVISION", "ENDPOINTS");
        foreach (var p in list.Policies)
        {
            table.Add(p.Policy.Namespace ?? "-", p.Policy.Name, p.Policy.Kind, p.Source,
                p.Revision.ToString(CultureInfo.InvariantCulture),
                p.SelectedEndpoints.Count == 0 ? "-" : string.Join(",", p.SelectedEndpoints));
        }

        return $"Revision: {list.Revision.ToString(CultureInfo.InvariantCulture)}\n" + (list.Policies.Count == 0 ? "No policies loaded.\n" : table.ToString());
    }

    private static string Texts(PolicyListResponse list)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# Revision: {list.Revision}\n");
        foreach (var p in list.Policies)
        {
            sb.Append(CultureInfo.InvariantCulture, $"---\n# {p.Policy.Kind} {p.Policy} from {p.Source}\n");
            sb.Append(p.Text ?? "");
            if (p.Text is { Length: > 0 } t && !t.EndsWith('\n'))
            {
                sb.Append('\n');
            }
        }

        return sb.ToString();
    }
}
