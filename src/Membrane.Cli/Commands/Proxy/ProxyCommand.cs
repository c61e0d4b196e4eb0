using System.CommandLine;
using System.Net;
using Membrane.Agent.Proxy;
using Membrane.Observer.Filters;
using Membrane.Observer.Printers;
using Membrane.Policy.MapState;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Repository;

namespace Membrane.Cli.Commands.Proxy;

/// <summary>
/// <c>membrane proxy -f POLICIES --listen ADDR:PORT --upstream ADDR:PORT --src LABELS --dst LABELS [--dport N]
/// [--src-namespace NS] [--dst-namespace NS] [-o compact|table|json]</c>: Membrane as a standalone policy-enforcing proxy
/// (no root, no datapath) in front of the destination endpoint <c>--dst</c>, treating every client as <c>--src</c>.
/// Prints one flow per request, response and denied connection until interrupted.
/// </summary>
internal static class ProxyCommand
{
    public static Command Build()
    {
        var files = new Option<string[]>("--file", "-f") { Description = "Policy files or directories (- for stdin).", Required = true, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var listen = new Option<string>("--listen") { Description = "Where to listen, ADDR:PORT.", Required = true };
        var upstream = new Option<string>("--upstream") { Description = "The server to forward to, ADDR:PORT.", Required = true };
        var src = new Option<string>("--src") { Description = "Labels every client is treated as having: key=value[,key=value] with an optional source (k8s:app=frontend).", Required = true };
        var dst = new Option<string>("--dst") { Description = "Labels of the destination endpoint this proxy stands in front of.", Required = true };
        var dport = new Option<int?>("--dport") { Description = "The port the policy's rules are selected for (default: the upstream's port)." };
        var srcNs = new Option<string>("--src-namespace") { Description = "Namespace of the source.", DefaultValueFactory = _ => "default" };
        var dstNs = new Option<string>("--dst-namespace") { Description = "Namespace of the destination.", DefaultValueFactory = _ => "default" };
        var output = AgentCall.Output("compact", "table", "json");
        var command = new Command("proxy", "Run Membrane as a standalone policy-enforcing L7 proxy (HTTP, gRPC, Kafka) in front of one workload.")
        {
            files, listen, upstream, src, dst, dport, srcNs, dstNs, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (!IPEndPoint.TryParse(parse.GetValue(listen)!, out var listenAt) || !parse.GetValue(listen)!.Contains(':', StringComparison.Ordinal))
            {
                stderr.WriteLine($"error: --listen: expected ADDR:PORT, got \"{parse.GetValue(listen)}\"");
                return 2;
            }

            if (!IPEndPoint.TryParse(parse.GetValue(upstream)!, out var upstreamAt) || upstreamAt.Port == 0)
            {
                stderr.WriteLine($"error: --upstream: expected ADDR:PORT, got \"{parse.GetValue(upstream)}\"");
                return 2;
            }

            if (parse.GetValue(dport) is { } p && p is < 1 or > 65535)
            {
                stderr.WriteLine($"error: --dport: expected 1-65535, got {p}");
                return 2;
            }

            var loaded = PolicyLoader.LoadPaths(parse.GetValue(files)!, Console.In);
            if (!loaded.IsValid)
            {
                foreach (var e in loaded.Errors)
                {
                    stderr.WriteLine(e);
                }

                stderr.WriteLine($"error: the policies are invalid ({loaded.Errors.Count} error{(loaded.Errors.Count == 1 ? "" : "s")}); not starting");
                return 1;
            }

            ExplicitProxyHost host;
            try
            {
                host = await ExplicitProxyHost.StartAsync(new ExplicitProxyOptions
                {
                    Policies = loaded.Policies,
                    Listen = listenAt,
                    Upstream = upstreamAt,
                    SourceLabels = LabelSet.Parse(parse.GetValue(src)!),
                    DestinationLabels = LabelSet.Parse(parse.GetValue(dst)!),
                    SourceNamespace = parse.GetValue(srcNs)!,
                    DestinationNamespace = parse.GetValue(dstNs)!,
                    DestinationPort = parse.GetValue(dport),
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PolicyCompileException or System.Net.Sockets.SocketException or IOException or ArgumentException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 1;
            }

            await using (host.ConfigureAwait(false))
            {
                Describe(stderr, host);
                var printer = FlowPrinters.Create(parse.GetValue(output) switch { "json" => OutputFormat.Json, "table" => OutputFormat.Table, _ => OutputFormat.Compact }, stdout);
                try
                {
                    await foreach (var response in host.Flows.ObserveAsync(FlowFilterSpec.Parse(["--follow"]), cancellationToken).ConfigureAwait(false))
                    {
                        printer.Write(response);
                        printer.Flush();
                        stdout.Flush();
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
            }

            return 0;
        });
        return command;
    }

    private static void Describe(TextWriter w, ExplicitProxyHost host)
    {
        var p = host.Policy;
        w.WriteLine($"membrane proxy listening on {host.Listener.LocalEndPoint}, forwarding to {host.Upstream}; rules of port {p.DestinationPort}/TCP");
        w.WriteLine($"  source      {p.Source.Namespace}/{p.Source.Labels} (identity {p.Source.Identity})");
        w.WriteLine($"  destination {p.Destination.Namespace}/{p.Destination.Labels} (identity {p.Destination.Identity})");
        var decided = p.L4DecidedBy.Count == 0 ? "default deny" : string.Join(", ", p.L4DecidedBy.Select(r => r.ToString()));
        if (!p.L4Allowed)
        {
            w.WriteLine($"  L3/L4: DENIED ({decided}): every connection is closed at once and recorded");
        }
        else if (p.Protocol == L7Protocol.None)
        {
            w.WriteLine($"  L3/L4: allowed ({decided}); no L7 rules on this port: bytes are relayed unparsed");
        }
        else
        {
            var sets = new List<string>();
            if (p.HttpEgress is not null || p.KafkaEgress is not null)
            {
                sets.Add("the source's egress");
            }

            if (p.HttpIngress is not null || p.KafkaIngress is not null)
            {
                sets.Add("the destination's ingress");
            }

            w.WriteLine($"  L3/L4: allowed ({decided}); L7 {(p.Protocol == L7Protocol.Http ? "HTTP/1.1 and h2c (gRPC)" : "Kafka")} rules of {string.Join(" and ", sets)} enforced per request");
        }

        w.WriteLine("  flows follow (Ctrl-C to stop):");
    }
}
