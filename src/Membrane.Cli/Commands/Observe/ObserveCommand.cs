using System.CommandLine;
using System.Globalization;
using Membrane.Agent.Api;
using Membrane.Observer.Filters;
using Membrane.Observer.Printers;

namespace Membrane.Cli.Commands.Observe;

/// <summary>
/// <c>membrane observe</c>: flows from the agent's flow buffer, filtered as <c>hubble observe</c> filters them
/// (<see cref="FlowFilterSpec"/>: different flags AND, repeated flags OR) and printed by the Observer's printers:
/// <c>compact</c> (default), <c>table</c> (TIMESTAMP SOURCE DESTINATION TYPE VERDICT SUMMARY), <c>dict</c>, or
/// <c>json</c> (Hubble's GetFlowsResponse, one per line). Exit 2 on an invalid filter.
/// </summary>
internal static class ObserveCommand
{
    private static readonly string[] RepeatableFlags =
    [
        "--from-pod", "--to-pod", "--from-label", "--to-label", "--from-app", "--to-app", "--namespace", "--verdict", "--type",
        "--protocol", "--port", "--http-method", "--http-path", "--http-status",
    ];

    public static Command Build()
    {
        var command = new Command("observe", "Show flows: what was forwarded, dropped and why, with the policy that decided.");
        var filters = new Dictionary<string, Option<string[]>>();
        foreach (var flag in RepeatableFlags)
        {
            var aliases = flag switch
            {
                "--namespace" => new[] { "-n" },
                "--type" => ["-t"],
                _ => [],
            };
            var option = new Option<string[]>(flag, aliases) { Description = Describe(flag), Arity = ArgumentArity.OneOrMore };
            filters[flag] = option;
            command.Options.Add(option);
        }

        var last = new Option<int?>("--last") { Description = "Show the last N matching flows (default 20 without --since or --follow)." };
        var since = new Option<string?>("--since") { Description = "Flows since a time: 3s, 4m, 1h43m, 2026-01-12T10:30:01Z, \"Jan 12 10:30:01.123\"." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new flows until interrupted." };
        var output = new Option<string>("--output", "-o") { Description = "compact (default), table, dict, json or jsonpb.", DefaultValueFactory = _ => "compact" };
        output.AcceptOnlyFromAmong("compact", "table", "dict", "json", "jsonpb");
        var timeFormat = new Option<string>("--time-format") { Description = "StampMilli (default), Stamp, StampMicro, StampNano, RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano.", DefaultValueFactory = _ => "StampMilli" };
        timeFormat.AcceptOnlyFromAmong("StampMilli", "Stamp", "StampMicro", "StampNano", "RFC3339", "RFC3339Milli", "RFC3339Micro", "RFC3339Nano");
        var nodeName = new Option<bool>("--print-node-name") { Description = "Print the node name of each flow." };
        var policyNames = new Option<bool>("--print-policy-names") { Description = "Print the policies that allowed or denied each flow (default deny included)." };
        foreach (var o in new Option[] { last, since, follow, output, timeFormat, nodeName, policyNames })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, ct) =>
        {
            var args = new List<string>();
            foreach (var flag in RepeatableFlags)
            {
                foreach (var value in parse.GetValue(filters[flag]) ?? [])
                {
                    args.Add(flag);
                    args.Add(value);
                }
            }

            if (parse.GetValue(last) is { } n)
            {
                args.Add("--last");
                args.Add(n.ToString(CultureInfo.InvariantCulture));
            }

            if (parse.GetValue(since) is { } s)
            {
                args.Add("--since");
                args.Add(s);
            }

            if (parse.GetValue(follow))
            {
                args.Add("--follow");
            }

            FlowFilterSpec spec;
            try
            {
                spec = FlowFilterSpec.Parse(args);
            }
            catch (FlowFilterParseException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }

            PrinterOptions.TryParseFormat(parse.GetValue(output)!, out var format);
            var options = new PrinterOptions
            {
                TimeFormat = parse.GetValue(timeFormat)!,
                PrintNodeName = parse.GetValue(nodeName),
                PrintPolicyNames = parse.GetValue(policyNames),
            };
            return AgentCall.RunAsync(parse, (client, writer, token) => Stream(client, spec, format, options, writer, token), ct);
        });
        return command;
    }

    private static async Task<int> Stream(AgentClient client, FlowFilterSpec spec, OutputFormat format, PrinterOptions options, TextWriter writer, CancellationToken cancellationToken)
    {
        var printer = FlowPrinters.Create(format, writer, options);
        try
        {
            await foreach (var line in client.ObserveAsync(new ObserveRequest(spec.Arguments), cancellationToken).ConfigureAwait(false))
            {
                if (format == OutputFormat.Json)
                {
                    writer.Write(line);
                    writer.Write('\n');
                }
                else if (HubbleJsonReader.ParseResponse(line) is { } response)
                {
                    printer.Write(response);
                }

                if (spec.Follow)
                {
                    printer.Flush();
                    writer.Flush();
                }
            }
        }
        finally
        {
            printer.Flush();
            writer.Flush();
        }

        return 0;
    }

    private static string Describe(string flag) => flag switch
    {
        "--from-pod" => "Flows from pods [NAMESPACE/]NAME (name prefix; namespace default: default).",
        "--to-pod" => "Flows to pods [NAMESPACE/]NAME.",
        "--from-label" => "Flows from endpoints matching a label selector (app=web, k8s:app=web, reserved:world).",
        "--to-label" => "Flows to endpoints matching a label selector.",
        "--from-app" => "Flows from endpoints with this app label.",
        "--to-app" => "Flows to endpoints with this app label.",
        "--namespace" => "Flows from or to this namespace.",
        "--verdict" => "FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED or TRANSLATED.",
        "--type" => "Event type: l7, drop, trace, policy-verdict (TYPE[:SUBTYPE]).",
        "--protocol" => "tcp, udp, icmp, icmpv4, icmpv6, sctp, http or kafka.",
        "--port" => "Flows from or to this port.",
        "--http-method" => "HTTP method.",
        "--http-path" => "HTTP path regular expression (unanchored).",
        "--http-status" => "HTTP status: 404, or a prefix such as 5+ or 40+.",
        _ => flag,
    };
}
