using System.CommandLine;
using System.Globalization;
using System.Net;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;
using Membrane.Policy.Parsing;
using Membrane.Policy.Repository;
using Membrane.Policy.Trace;

namespace Membrane.Cli.Commands.Policy;

/// <summary>
/// <c>membrane policy trace [-f PATH...] --src PEER --dst PEER --dport N ...</c>: explains whether a connection (and
/// optionally one HTTP or Kafka request on it) would be allowed, side by side: the source's egress and the
/// destination's ingress, with the rule that decided or the policies that enabled default deny. With <c>-f</c> it runs
/// offline on the given files and PEER is labels; without, it traces against the running agent's live state: its
/// loaded policies, and PEER may also be an endpoint id or a pod name <c>[ns/]name</c> (its labels, namespace labels,
/// address and named ports are used). Exit 0 when the evaluation ran (whatever the verdict), 1 when the agent cannot be
/// reached, 2 on bad input.
/// </summary>
internal static class TraceCommand
{
    public static Command Build()
    {
        var files = new Option<string[]>("--file", "-f")
        {
            Description = "Policy files or directories (repeatable; - reads standard input). Without it, the running agent's policies are traced.",
            AllowMultipleArgumentsPerToken = true,
        };
        var src = new Option<string?>("--src") { Description = "Source pod labels: key=value,... (optional source prefix, e.g. k8s:app=frontend); live: also an endpoint id or [ns/]pod." };
        var dst = new Option<string?>("--dst") { Description = "Destination pod labels; live: also an endpoint id or [ns/]pod." };
        var dport = new Option<int>("--dport") { Description = "Destination port (for ICMP: the ICMP type).", Required = true };
        var protocol = new Option<string>("--protocol") { Description = "TCP, UDP, SCTP, ICMP or ICMPv6.", DefaultValueFactory = _ => "TCP" };
        var srcNs = new Option<string>("--src-namespace") { Description = "Source namespace.", DefaultValueFactory = _ => "default" };
        var dstNs = new Option<string>("--dst-namespace") { Description = "Destination namespace.", DefaultValueFactory = _ => "default" };
        var srcIp = new Option<string?>("--src-ip") { Description = "Source address; without --src the source is not a pod (a CIDR identity or world)." };
        var dstIp = new Option<string?>("--dst-ip") { Description = "Destination address; without --dst the destination is not a pod." };
        var method = new Option<string?>("--http-method") { Description = "HTTP method of a request to evaluate (default GET when another --http-* is given)." };
        var path = new Option<string?>("--http-path") { Description = "Normalized path with query string (default /)." };
        var host = new Option<string?>("--http-host") { Description = "Host header." };
        var headers = new Option<string[]>("--http-header") { Description = "A request header \"Name: value\" (repeatable)." };
        var kafkaRole = new Option<string?>("--kafka-role") { Description = "Kafka role to evaluate: produce or consume (every API key of the role)." };
        var kafkaKey = new Option<string?>("--kafka-api-key") { Description = "Kafka API key to evaluate (name such as fetch, or number)." };
        var kafkaVersion = new Option<string?>("--kafka-api-version") { Description = "Kafka API version (default: any; rules naming a version then do not match)." };
        var kafkaTopic = new Option<string?>("--kafka-topic") { Description = "Kafka topic." };
        var kafkaClient = new Option<string?>("--kafka-client-id") { Description = "Kafka client id." };
        var output = new Option<string>("--output", "-o") { Description = "Output format: text or json.", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");

        var command = new Command("trace", "Explain whether traffic between two workloads would be allowed, and by which rule (offline).");
        foreach (var o in new Option[] { files, src, dst, dport, protocol, srcNs, dstNs, srcIp, dstIp, method, path, host, headers, kafkaRole, kafkaKey, kafkaVersion, kafkaTopic, kafkaClient, output })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, ct) =>
        {
            var options = new TraceOptions(
                parse.GetValue(files) ?? [],
                parse.GetValue(src), parse.GetValue(dst), parse.GetValue(dport), parse.GetValue(protocol)!,
                parse.GetValue(srcNs)!, parse.GetValue(dstNs)!, parse.GetValue(srcIp), parse.GetValue(dstIp),
                parse.GetValue(method), parse.GetValue(path), parse.GetValue(host), parse.GetValue(headers) ?? [],
                parse.GetValue(kafkaRole), parse.GetValue(kafkaKey), parse.GetValue(kafkaVersion), parse.GetValue(kafkaTopic), parse.GetValue(kafkaClient),
                parse.GetValue(output) == "json");
            return options.Files.Count == 0
                ? RunLiveAsync(parse, options, ct)
                : Task.FromResult(Run(options, Console.In, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        });
        return command;
    }

    public static int Run(TraceOptions o, TextReader stdin, TextWriter output, TextWriter error)
    {
        TraceRequest request;
        try
        {
            request = BuildRequest(o);
        }
        catch (UsageException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }

        var loaded = PolicyLoader.LoadPaths(o.Files, stdin);
        if (!loaded.IsValid)
        {
            foreach (var e in loaded.Errors)
            {
                error.WriteLine(e.ToString());
            }

            error.WriteLine($"error: the policies are invalid ({loaded.Errors.Count} error(s)); nothing was traced");
            return 2;
        }

        TraceResult result;
        try
        {
            result = PolicyTracer.Trace(loaded.Policies, request);
        }
        catch (PolicyCompileException e)
        {
            foreach (var pe in e.Errors)
            {
                error.WriteLine(pe.ToString());
            }

            error.WriteLine("error: the policies cannot be applied; nothing was traced");
            return 2;
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }

        if (loaded.Policies.Count == 0)
        {
            error.WriteLine($"warning: no policies found in {string.Join(", ", o.Files)}: nothing is enforced");
        }

        output.Write(o.Json ? TraceOutput.Json(result, request) : TraceOutput.Text(result, request));
        return 0;
    }

    /// <summary>
    /// Traces against the running agent: its loaded policies (the texts it enforces, reloaded here) and its endpoints
    /// for peers given as an endpoint id or pod name.
    /// </summary>
    public static Task<int> RunLiveAsync(ParseResult parse, TraceOptions o, CancellationToken cancellationToken) =>
        AgentCall.RunAsync(parse, async (client, output, token) =>
        {
            var error = parse.InvocationConfiguration.Error;
            TracePeer source, destination;
            try
            {
                source = await LivePeerAsync(client, "--src", o.Source, "--src-namespace", o.SourceNamespace, "--src-ip", o.SourceIp, token).ConfigureAwait(false);
                destination = await LivePeerAsync(client, "--dst", o.Destination, "--dst-namespace", o.DestinationNamespace, "--dst-ip", o.DestinationIp, token).ConfigureAwait(false);
            }
            catch (UsageException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }

            TraceRequest request;
            try
            {
                request = BuildRequest(o, source, destination);
            }
            catch (UsageException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }

            var sources = await client.ListPolicySourcesAsync(token).ConfigureAwait(false);
            var policies = new List<PolicyResource>();
            foreach (var text in sources.Sources)
            {
                var loaded = PolicyLoader.LoadText(text.Text, text.Name);
                var live = text.Live.Select(l => new PolicyRef(l.Kind, l.Namespace, l.Name)).ToHashSet();
                policies.AddRange(loaded.Policies.Where(p => live.Contains(p.Ref)));
            }

            TraceResult result;
            try
            {
                result = PolicyTracer.Trace(policies, request);
            }
            catch (Exception e) when (e is PolicyCompileException or ArgumentException)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }

            if (!o.Json)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Live policy of the agent (revision {sources.Revision}, {policies.Count} {(policies.Count == 1 ? "policy" : "policies")})"));
            }

            output.Write(o.Json ? TraceOutput.Json(result, request) : TraceOutput.Text(result, request));
            return 0;
        }, cancellationToken);

    /// <summary>A live peer: an endpoint id or pod name resolved through the agent, else labels or an address.</summary>
    private static async Task<TracePeer> LivePeerAsync(Membrane.Agent.Api.AgentClient client, string flag, string? value, string nsFlag, string ns,
        string ipFlag, string? ip, CancellationToken cancellationToken)
    {
        if (value is null || value.Contains('=', StringComparison.Ordinal))
        {
            return Peer(flag, value, nsFlag, ns, ipFlag, ip);
        }

        Membrane.Agent.Api.EndpointModel endpoint;
        try
        {
            endpoint = await client.GetEndpointAsync(value, cancellationToken).ConfigureAwait(false);
        }
        catch (Membrane.Agent.Api.AgentApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
        {
            throw new UsageException($"{flag} {value}: {e.Message} (give an endpoint id, a pod as [namespace/]name, or labels key=value)");
        }

        static LabelSet Labels(IReadOnlyDictionary<string, string> labels) =>
            new(labels.Select(kv => Label.Parse(kv.Value.Length == 0 ? kv.Key : $"{kv.Key}={kv.Value}")));

        return new TracePeer(Labels(endpoint.PodLabels), endpoint.Namespace, IPAddress.Parse(endpoint.IPv4))
        {
            PodName = endpoint.PodName,
            NamespaceLabels = Labels(endpoint.NamespaceLabels),
            NamedPorts = [.. endpoint.NamedPorts.Select(p => new Membrane.Policy.Endpoints.NamedPort(p.Name, (ushort)p.Port,
                p.Protocol switch { "UDP" => (byte)17, "SCTP" => (byte)132, _ => (byte)6 }))],
        };
    }

    private static TraceRequest BuildRequest(TraceOptions o) =>
        BuildRequest(o,
            Peer("--src", o.Source, "--src-namespace", o.SourceNamespace, "--src-ip", o.SourceIp),
            Peer("--dst", o.Destination, "--dst-namespace", o.DestinationNamespace, "--dst-ip", o.DestinationIp));

    private static TraceRequest BuildRequest(TraceOptions o, TracePeer source, TracePeer destination)
    {
        var protocol = o.Protocol.ToUpperInvariant() switch
        {
            "TCP" => (byte)6,
            "UDP" => (byte)17,
            "SCTP" => (byte)132,
            "ICMP" => (byte)1,
            "ICMPV6" => (byte)58,
            _ => throw new UsageException($"--protocol {o.Protocol}: expected TCP, UDP, SCTP, ICMP or ICMPv6"),
        };
        var max = protocol is 1 or 58 ? 255 : 65535;
        if (o.Port < 0 || o.Port > max)
        {
            throw new UsageException($"--dport {o.Port}: expected 0-{max}");
        }

        if (!source.IsEndpoint && !destination.IsEndpoint)
        {
            throw new UsageException("give labels for at least one side (--src or --dst): policy applies to pods");
        }

        var anyHttp = o.HttpMethod is not null || o.HttpPath is not null || o.HttpHost is not null || o.HttpHeaders.Count > 0;
        var anyKafka = o.KafkaRole is not null || o.KafkaApiKey is not null || o.KafkaApiVersion is not null || o.KafkaTopic is not null || o.KafkaClientId is not null;
        if (anyHttp && anyKafka)
        {
            throw new UsageException("--http-* and --kafka-* describe different protocols: give one kind");
        }

        HttpTraceRequest? http = null;
        if (anyHttp)
        {
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var h in o.HttpHeaders)
            {
                var colon = h.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    throw new UsageException($"--http-header \"{h}\": expected \"Name: value\"");
                }

                headers.Add(KeyValuePair.Create(h[..colon].Trim(), h[(colon + 1)..].Trim()));
            }

            var path = o.HttpPath ?? "/";
            if (!path.StartsWith('/') && path != "*")
            {
                throw new UsageException($"--http-path \"{path}\": a path starts with /");
            }

            http = new HttpTraceRequest(o.HttpMethod ?? "GET", path, o.HttpHost ?? "", headers);
        }

        KafkaTraceRequest? kafka = null;
        if (anyKafka)
        {
            if (o.KafkaRole is not null && o.KafkaApiKey is not null)
            {
                throw new UsageException("--kafka-role and --kafka-api-key are mutually exclusive");
            }

            if (o.KafkaRole is null && o.KafkaApiKey is null)
            {
                throw new UsageException("give --kafka-role produce|consume or --kafka-api-key KEY to evaluate a Kafka request");
            }

            if (o.KafkaRole is { } role && !role.Equals("produce", StringComparison.OrdinalIgnoreCase) && !role.Equals("consume", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"--kafka-role {role}: expected produce or consume");
            }

            if (o.KafkaApiKey is { } key && !KafkaApiKeys.ByName.ContainsKey(key) && !short.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new UsageException($"--kafka-api-key {key}: unknown API key (names: {string.Join(", ", KafkaApiKeys.ByName.Keys.Take(12))}, ...)");
            }

            short? version = null;
            if (o.KafkaApiVersion is { } v)
            {
                version = short.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : throw new UsageException($"--kafka-api-version {v}: expected 0-32767");
            }

            kafka = new KafkaTraceRequest(o.KafkaRole?.ToLowerInvariant(), o.KafkaApiKey, version, o.KafkaTopic, o.KafkaClientId);
        }

        return new TraceRequest(source, destination, protocol, (ushort)o.Port, http, kafka);
    }

    private static TracePeer Peer(string labelsFlag, string? labels, string nsFlag, string ns, string ipFlag, string? ip)
    {
        IPAddress? address = null;
        // IPAddress also accepts inet_aton shorthands ("1.2.3" is 1.2.0.3): require the four-part form for IPv4.
        if (ip is not null && (!IPAddress.TryParse(ip, out address) || (!ip.Contains(':', StringComparison.Ordinal) && ip.Count(c => c == '.') != 3)))
        {
            throw new UsageException($"{ipFlag} {ip}: not an IP address");
        }

        if (string.IsNullOrWhiteSpace(ns))
        {
            throw new UsageException($"{nsFlag}: empty namespace");
        }

        if (labels is null)
        {
            return address is null
                ? throw new UsageException($"give {labelsFlag} LABELS (a pod) or {ipFlag} IP (an address outside the cluster)")
                : new TracePeer(null, ns, address);
        }

        var items = labels.Split(',', StringSplitOptions.TrimEntries);
        if (items.Any(i => i.Length == 0 || i.StartsWith('=') || i.EndsWith(':')))
        {
            throw new UsageException($"{labelsFlag} \"{labels}\": expected comma-separated key=value labels, e.g. app=frontend,tier=web");
        }

        return new TracePeer(LabelSet.Parse(labels), ns, address);
    }

    internal sealed record TraceOptions(
        IReadOnlyList<string> Files,
        string? Source,
        string? Destination,
        int Port,
        string Protocol,
        string SourceNamespace,
        string DestinationNamespace,
        string? SourceIp,
        string? DestinationIp,
        string? HttpMethod,
        string? HttpPath,
        string? HttpHost,
        IReadOnlyList<string> HttpHeaders,
        string? KafkaRole,
        string? KafkaApiKey,
        string? KafkaApiVersion,
        string? KafkaTopic,
        string? KafkaClientId,
        bool Json);

    private sealed class UsageException(string message) : Exception(message);
}
