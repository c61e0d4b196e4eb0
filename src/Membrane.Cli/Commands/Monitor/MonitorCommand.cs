using System.CommandLine;
using Membrane.Agent.Api;
using Membrane.Observer.Printers;

namespace Membrane.Cli.Commands.Monitor;

/// <summary>
/// <c>membrane monitor [--type drop|trace|l7|policy-verdict]... [--from EP] [--to EP] [--related-to EP] [-o json]</c>:
/// a live stream of datapath and proxy events as <c>cilium monitor</c> prints them, e.g.
/// <c>xx drop (Policy denied) flow 0x5ee40be3 to endpoint 1121, identity 1234-&gt;4321: ... tcp HTTP/1.1 DELETE /api/v1/users/123</c>.
/// Runs until interrupted.
/// </summary>
internal static class MonitorCommand
{
    public static Command Build()
    {
        var types = new Option<string[]>("--type", "-t") { Description = "Event types to show: drop, trace, l7, policy-verdict (repeatable; default all)." };
        var from = new Option<int[]>("--from") { Description = "Only events of these endpoint ids (the endpoint whose policy applied)." };
        var to = new Option<int[]>("--to") { Description = "Only events towards these endpoint ids." };
        var related = new Option<int[]>("--related-to") { Description = "Only events from or to these endpoint ids." };
        var output = AgentCall.Output("text", "json");
        var json = new Option<bool>("--json", "-j") { Description = "Same as -o json." };
        var numeric = new Option<bool>("--numeric", "-n") { Description = "Print identities as numbers." };
        var policyNames = new Option<bool>("--print-policy-names") { Description = "Append the policies that decided each event." };
        var command = new Command("monitor", "Print datapath and proxy events live (drops, policy verdicts, traces, L7 requests).");
        foreach (var o in new Option[] { types, from, to, related, output, json, numeric, policyNames })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, ct) =>
        {
            var kinds = parse.GetValue(types) ?? [];
            foreach (var kind in kinds)
            {
                if (!MonitorPrinter.TryParseKind(kind, out _))
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: --type {kind}: expected drop, trace, l7 or policy-verdict");
                    return Task.FromResult(2);
                }
            }

            foreach (var id in (parse.GetValue(from) ?? []).Concat(parse.GetValue(to) ?? []).Concat(parse.GetValue(related) ?? []))
            {
                if (id is < 1 or > 65535)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: endpoint id {id}: expected 1-65535");
                    return Task.FromResult(2);
                }
            }

            var request = new MonitorRequest
            {
                Types = kinds,
                From = parse.GetValue(from) ?? [],
                To = parse.GetValue(to) ?? [],
                RelatedTo = parse.GetValue(related) ?? [],
                Json = parse.GetValue(output) == "json" || parse.GetValue(json),
                Numeric = parse.GetValue(numeric),
                PrintPolicyNames = parse.GetValue(policyNames),
            };
            return AgentCall.RunAsync(parse, async (client, writer, token) =>
            {
                if (!request.Json)
                {
                    writer.WriteLine("Listening for events on the agent. Press Ctrl-C to quit");
                    writer.Flush();
                }

                await foreach (var line in client.MonitorAsync(request, token).ConfigureAwait(false))
                {
                    writer.Write(line);
                    writer.Write('\n');
                    writer.Flush();
                }

                return 0;
            }, ct);
        });
        return command;
    }
}
