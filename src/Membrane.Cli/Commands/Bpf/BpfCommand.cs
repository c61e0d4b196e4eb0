using System.CommandLine;
using System.Globalization;
using Membrane.Agent.Api;
using Membrane.Cli.Output;

namespace Membrane.Cli.Commands.Bpf;

/// <summary>
/// <c>membrane bpf policy get EP</c>, <c>bpf ct list</c>, <c>bpf ipcache list</c>: the kernel's maps as the datapath
/// holds them, decoded (identities with their labels, ports, verdicts, proxy ports, the policies behind each entry).
/// </summary>
internal static class BpfCommand
{
    public static Command Build()
    {
        var command = new Command("bpf", "Inspect the datapath's kernel maps.");
        var policy = new Command("policy", "Per-endpoint policy maps.");
        policy.Subcommands.Add(BuildPolicyGet());
        var ct = new Command("ct", "The connection-tracking table.");
        ct.Subcommands.Add(BuildConntrackList());
        var ipcache = new Command("ipcache", "The ipcache (address → identity).");
        ipcache.Subcommands.Add(BuildIpcacheList());
        command.Subcommands.Add(policy);
        command.Subcommands.Add(ct);
        command.Subcommands.Add(ipcache);
        return command;
    }

    public static string PolicyTable(BpfPolicyResponse response)
    {
        var table = new TextTable("POLICY", "DIRECTION", "IDENTITY", "LABELS (source:key[=value])", "PORT/PROTO", "PROXY PORT", "POLICIES");
        foreach (var e in response.Entries)
        {
            table.Add(
                Verdict(e),
                e.Direction,
                e.Identity.ToString(CultureInfo.InvariantCulture),
                e.Labels.Count == 0 ? "-" : string.Join('\n', e.Labels),
                e.PortProtocol,
                e.ProxyPort == 0 ? "NONE" : e.ProxyPort.ToString(CultureInfo.InvariantCulture),
                e.Policies.Count == 0 ? "-" : string.Join('\n', e.Policies.Select(p => p.ToString())));
        }

        return table.ToString();
    }

    public static string ConntrackTable(IEnumerable<ConntrackEntryModel> entries)
    {
        var table = new TextTable("PROTO", "SOURCE", "DESTINATION", "DIRECTION", "ENDPOINT", "IDENTITIES", "STATE", "FLAGS", "PACKETS", "BYTES", "EXPIRES");
        foreach (var e in entries)
        {
            table.Add(e.Protocol, e.Source, e.Destination, e.Direction,
                e.EndpointId.ToString(CultureInfo.InvariantCulture),
                $"{e.SourceIdentity}->{e.DestinationIdentity}",
                e.State,
                e.Flags.Count == 0 ? "-" : string.Join(",", e.Flags),
                $"{e.ForwardPackets}/{e.ReplyPackets}",
                $"{e.ForwardBytes}/{e.ReplyBytes}",
                e.ExpiresInSeconds <= 0 ? "expired" : $"{e.ExpiresInSeconds}s");
        }

        return table.ToString();
    }

    public static string IpcacheTable(IEnumerable<IpcacheEntryModel> entries)
    {
        var table = new TextTable("IP PREFIX/ADDRESS", "IDENTITY", "LABELS", "ENDPOINT");
        foreach (var e in entries)
        {
            table.Add(e.Prefix, e.Identity.ToString(CultureInfo.InvariantCulture),
                e.Labels.Count == 0 ? "-" : string.Join('\n', e.Labels),
                e.EndpointId == 0 ? "-" : e.EndpointId.ToString(CultureInfo.InvariantCulture));
        }

        return table.ToString();
    }

    private static string Verdict(BpfPolicyEntryModel e) => e.Verdict switch
    {
        "allow" => "Allow",
        "deny" => "Deny",
        "redirect" => $"Redirect ({e.L7})",
        _ => e.Verdict,
    };

    private static Command BuildPolicyGet()
    {
        var id = new Argument<string>("ENDPOINT") { Description = "Endpoint id, or pod name as [namespace/]name." };
        var output = AgentCall.Output("table", "json");
        var command = new Command("get", "Show an endpoint's policy map as the kernel holds it.");
        command.Arguments.Add(id);
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var map = await client.GetBpfPolicyAsync(parse.GetValue(id)!, token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, map, ApiJson.Indented.BpfPolicyResponse);
            }
            else
            {
                writer.Write(PolicyTable(map));
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command BuildConntrackList()
    {
        var output = AgentCall.Output("table", "json");
        var command = new Command("list", "List connection-tracking entries.");
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var entries = await client.ListConntrackAsync(token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, entries, ApiJson.Indented.ListConntrackEntryModel);
            }
            else
            {
                writer.Write(ConntrackTable(entries));
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command BuildIpcacheList()
    {
        var output = AgentCall.Output("table", "json");
        var command = new Command("list", "List ipcache entries.");
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var entries = await client.ListIpcacheAsync(token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, entries, ApiJson.Indented.ListIpcacheEntryModel);
            }
            else
            {
                writer.Write(IpcacheTable(entries));
            }

            return 0;
        }, ct));
        return command;
    }
}
