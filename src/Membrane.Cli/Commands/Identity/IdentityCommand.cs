using System.CommandLine;
using System.Globalization;
using Membrane.Agent.Api;
using Membrane.Cli.Output;

namespace Membrane.Cli.Commands.Identity;

/// <summary><c>membrane identity list|get</c>: security identities and their labels (<c>cilium-dbg identity list</c>: ID LABELS).</summary>
internal static class IdentityCommand
{
    public static Command Build()
    {
        var command = new Command("identity", "List and inspect security identities.");
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildGet());
        return command;
    }

    public static string Table(IEnumerable<IdentityModel> identities)
    {
        var table = new TextTable("ID", "LABELS", "ENDPOINTS");
        foreach (var i in identities)
        {
            table.Add(
                i.Id.ToString(CultureInfo.InvariantCulture),
                i.Labels.Count == 0 ? "-" : string.Join('\n', i.Labels),
                i.Endpoints.Count == 0 ? "-" : string.Join(",", i.Endpoints));
        }

        return table.ToString();
    }

    private static Command BuildList()
    {
        var output = AgentCall.Output("table", "json");
        var command = new Command("list", "List identities (reserved ones included).");
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var identities = await client.ListIdentitiesAsync(token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, identities, ApiJson.Indented.ListIdentityModel);
            }
            else
            {
                writer.Write(Table(identities));
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command BuildGet()
    {
        var id = new Argument<uint>("ID") { Description = "Numeric identity." };
        var output = AgentCall.Output("table", "json");
        var command = new Command("get", "Show one identity.");
        command.Arguments.Add(id);
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var identity = await client.GetIdentityAsync(parse.GetValue(id), token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, identity, ApiJson.Indented.IdentityModel);
            }
            else
            {
                writer.Write(Table([identity]));
            }

            return 0;
        }, ct));
        return command;
    }
}
