using System.CommandLine;
using Membrane.Agent.Api;
using Membrane.Policy.Parsing;

namespace Membrane.Cli.Commands.Policy;

/// <summary>
/// <c>membrane policy import PATH... [--replace]</c>: reads files, directories (recursive) or <c>-</c> (stdin) and sends
/// the texts, with their names, to the agent, which validates everything and applies it atomically as one new policy
/// revision (add or replace by kind, namespace and name; <c>--replace</c> replaces the whole set). Errors keep
/// <c>file:line:column</c>; on any error nothing is applied and the previous revision keeps enforcing.
/// </summary>
internal static class PolicyImportCommand
{
    public static Command Build()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Policy files or directories (recursive: *.yaml, *.yml, *.json); - reads standard input.",
            Arity = ArgumentArity.OneOrMore,
        };
        var replace = new Option<bool>("--replace") { Description = "Replace the whole policy set: policies not in these files are deleted." };
        var output = AgentCall.Output("text", "json");
        var command = new Command("import", "Import policies into the running agent (validated whole, applied atomically).");
        command.Arguments.Add(paths);
        command.Options.Add(replace);
        command.Options.Add(output);
        command.SetAction((parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var (sources, readErrors) = PolicyLoader.ReadPaths(parse.GetValue(paths) ?? [], Console.In);
            if (readErrors.Count > 0)
            {
                foreach (var e in readErrors)
                {
                    error.WriteLine(e.ToString());
                }

                error.WriteLine("error: nothing was imported");
                return Task.FromResult(1);
            }

            var request = new PolicyImportRequest
            {
                Documents = [.. sources.Select(s => new PolicyDocument(s.File, s.Text))],
                ReplaceAll = parse.GetValue(replace),
            };
            return AgentCall.RunAsync(parse, async (client, writer, token) =>
            {
                var result = await client.ImportPoliciesAsync(request, token).ConfigureAwait(false);
                if (parse.GetValue(output) == "json")
                {
                    AgentCall.WriteJson(writer, result, ApiJson.Indented.PolicyChangeResponse);
                    return 0;
                }

                foreach (var w in result.Warnings)
                {
                    error.WriteLine($"warning: {w}");
                }

                writer.WriteLine(PolicyText.ChangeSummary(request.ReplaceAll ? "replaced the policy set with" : "imported", result));
                return 0;
            }, ct);
        });
        return command;
    }
}
