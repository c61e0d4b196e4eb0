using System.CommandLine;
using System.Globalization;
using System.Text;
using Membrane.Agent.Api;
using Membrane.Cli.Output;

namespace Membrane.Cli.Commands.Status;

/// <summary>
/// <c>membrane status [--verbose] [-o json]</c>: the agent's health at a glance (kernel and BPF features, datapath
/// mode, maps, proxy listeners, endpoints, identities, policies and revision, flows seen and lost), as
/// <c>cilium-dbg status</c>. Exit 0 when healthy, 1 when the agent reports a problem or cannot be reached.
/// </summary>
internal static class StatusCommand
{
    public static Command Build()
    {
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Every map, drop counters, lost-event sources and subsystem health." };
        var output = AgentCall.Output("text", "json");
        var command = new Command("status", "Show the agent's status: kernel features, datapath, proxy, endpoints, policies, flows.");
        command.Options.Add(verbose);
        command.Options.Add(output);
        command.SetAction((parse, ct) => AgentCall.RunAsync(parse, async (client, writer, token) =>
        {
            var status = await client.GetStatusAsync(token).ConfigureAwait(false);
            if (parse.GetValue(output) == "json")
            {
                AgentCall.WriteJson(writer, status, ApiJson.Indented.StatusModel);
            }
            else
            {
                writer.Write(Text(status, parse.GetValue(verbose), DateTimeOffset.UtcNow));
            }

            return status.Healthy ? 0 : 1;
        }, ct));
        return command;
    }

    public static string Text(StatusModel s, bool verbose, DateTimeOffset now)
    {
        var lines = new List<(string Key, string Value)>
        {
            ("Membrane", $"{s.Version} (instance {s.Instance}, pid {s.ProcessId}, up {Uptime(now - s.Started)})"),
            ("Kernel", s.Kernel),
            ("BPF features", string.Join(" ", s.Features.Select(f => $"{f.Name}={(f.Available ? "yes" : "no")}"))),
            ("Datapath mode", s.DatapathMode),
            ("Endpoints", N(s.Endpoints)),
            ("Identities", N(s.Identities)),
            ("Policies", $"{N(s.Policies)} (revision {N(s.PolicyRevision)}, enforcement {s.PolicyEnforcement})"),
            ("Proxy", s.ProxyListeners.Count == 0 ? "no listeners"
                : string.Join(", ", s.ProxyListeners.Select(l => $"{l.Protocol} {l.Address} ({Plural(l.Redirects, "redirect")})"))),
            ("BPF maps", string.Join(", ", s.Maps.Where(m => !m.Name.StartsWith("policy", StringComparison.Ordinal)).Select(m => $"{m.Name} {N(m.Entries)}/{N(m.Capacity)}"))),
            ("Flows", $"{N(s.Flows.CurrentFlows)}/{N(s.Flows.MaxFlows)} buffered, {N(s.Flows.SeenFlows)} seen, {N(s.Flows.LostTotal)} lost"),
            ("Metrics", s.MetricsAddress.Length == 0 ? "not served" : $"http://{s.MetricsAddress}/metrics"),
            ("Health", s.Healthy ? "OK" : "DEGRADED: " + string.Join("; ", s.Health.Where(h => !h.Ok).Select(h => $"{h.Name}: {h.Message}"))),
        };
        if (verbose)
        {
            lines.Add(("Node namespace", s.NodeNamespace));
            lines.Add(("State directory", s.StateDirectory));
            lines.Add(("BPF pins", s.PinRoot));
            lines.Add(("Packets", $"{N(s.ForwardedPackets)} forwarded, {N(s.ProxyRedirects)} redirected to the proxy"));
            lines.Add(("Conntrack GC", $"{N(s.ConntrackCollected)} expired entries collected"));
            lines.Add(("Lost events", $"kernel ring buffer {N(s.Flows.LostInKernelRingBuffer)}, event queue {N(s.Flows.LostInEventQueue)}, " +
                $"flow buffer {N(s.Flows.LostInFlowBuffer)}, slow readers {N(s.Flows.LostToReaders)}"));
        }

        const int width = 18;
        var sb = new StringBuilder();
        foreach (var (key, value) in lines)
        {
            sb.Append((key + ":").PadRight(width)).Append(value).Append('\n');
        }

        if (verbose)
        {
            sb.Append("\nBPF maps:\n");
            var maps = new TextTable("NAME", "ENTRIES", "CAPACITY", "FILL");
            foreach (var m in s.Maps)
            {
                maps.Add(m.Name, N(m.Entries), N(m.Capacity), Percent(m.Entries, m.Capacity));
            }

            sb.Append(Indent(maps.ToString()));
            sb.Append("\nDrops:\n");
            if (s.Drops.Count == 0)
            {
                sb.Append("  none\n");
            }
            else
            {
                var drops = new TextTable("REASON", "DIRECTION", "PACKETS");
                foreach (var d in s.Drops)
                {
                    drops.Add($"{d.Reason} ({d.Code})", d.Direction, N(d.Packets));
                }

                sb.Append(Indent(drops.ToString()));
            }

            sb.Append("\nHealth:\n");
            var health = new TextTable("SUBSYSTEM", "STATE", "DETAIL");
            foreach (var h in s.Health)
            {
                health.Add(h.Name, h.Ok ? "OK" : "FAILING", h.Message);
            }

            sb.Append(Indent(health.ToString()));
        }

        return sb.ToString();
    }

    private static string Indent(string text) => string.Concat(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l + "\n"));

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string N(ulong n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Plural(int n, string word) => n == 1 ? $"1 {word}" : $"{N(n)} {word}s";

    private static string Percent(int entries, int capacity) =>
        capacity == 0 ? "-" : (100.0 * entries / capacity).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Uptime(TimeSpan t)
    {
        if (t < TimeSpan.Zero)
        {
            t = TimeSpan.Zero;
        }

        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes}m{t.Seconds}s"
            : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds}s"
            : $"{t.Seconds}s";
    }
}
