using System.Globalization;
using System.Net;
using System.Text.Json;
using Membrane.Observer.Flows;
using Membrane.Policy.L7.Kafka;
using Membrane.Policy.Model;

namespace Membrane.Observer.Printers;

/// <summary>
/// Reads Hubble protobuf JSON back into flows: the lines <c>hubble observe -o json</c> (and <see cref="HubbleJson"/>)
/// write, i.e. <c>GetFlowsResponse</c> objects or bare <c>Flow</c> objects. Unknown fields are ignored (as protojson
/// with DiscardUnknown); enum values may be names or numbers; 64-bit integers may be strings or numbers. This is
/// how the CLI turns the agent's stream into any output format, and how flows saved from Hubble can be replayed.
/// </summary>
public static class HubbleJsonReader
{
    /// <summary>
    /// Parses one line. Returns null for response types that carry no flow or lost events (node status, agent events).
    /// </summary>
    /// <exception cref="FormatException">Malformed JSON or a field of the wrong type; the message names the field path.</exception>
    public static FlowResponse? ParseResponse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new FormatException($"invalid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("$: expected an object");
            }

            var nodeName = String(root, "node_name", "$");
            var time = root.TryGetProperty("time", out var t) ? Timestamp(t, "time") : 0;
            if (root.TryGetProperty("flow", out var flowElement))
            {
                return new FlowResponse(ParseFlow(flowElement, "flow"));
            }

            if (root.TryGetProperty("lost_events", out var lost))
            {
                Expect(lost, JsonValueKind.Object, "lost_events");
                var lostEvents = new LostEvents(
                    (LostEventSource)Enum(lost, "source", "lost_events", HubbleNames.Of, System.Enum.GetValues<LostEventSource>()),
                    UInt64(lost, "num_events_lost", "lost_events"),
                    lost.TryGetProperty("cpu", out var cpu) && cpu.ValueKind == JsonValueKind.Number ? cpu.GetInt32() : null);
                return new FlowResponse(lostEvents, nodeName, time);
            }

            if (root.TryGetProperty("node_status", out _) || root.TryGetProperty("agent_event", out _) || root.TryGetProperty("debug_event", out _))
            {
                return null;
            }

            return new FlowResponse(ParseFlow(root, "$"));
        }
    }

    /// <summary>
    /// Reads JSON lines from <paramref name="reader"/>, skipping blank lines and non-flow responses.
    /// Errors are reported as <c>source:line: field: problem</c>.
    /// </summary>
    public static IEnumerable<FlowResponse> ReadLines(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            FlowResponse? response;
            try
            {
                response = ParseResponse(line);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{sourceName}:{lineNumber}: {e.Message}", e);
            }

            if (response is { } r)
            {
                yield return r;
            }
        }
    }

    /// <summary>Parses a <c>flow.Flow</c> object.</summary>
    public static Flow ParseFlow(JsonElement e, string path = "flow")
    {
        Expect(e, JsonValueKind.Object, path);
        var dropDesc = e.TryGetProperty("drop_reason_desc", out var desc) ? DropReasonOf(desc, path + ".drop_reason_desc") : (DropReason?)null;
        var dropCode = e.TryGetProperty("drop_reason", out var code) ? new DropReason((byte)UInt32(code, path + ".drop_reason")) : DropReason.None;
        return new Flow
        {
            TimeUnixNanos = e.TryGetProperty("time", out var time) ? Timestamp(time, path + ".time") : 0,
            Uuid = e.TryGetProperty("uuid", out var uuid) ? Guid(uuid, path + ".uuid") : System.Guid.Empty,
            Verdict = (Verdict)Enum(e, "verdict", path, HubbleNames.Of, System.Enum.GetValues<Verdict>()),
            DropReason = dropDesc ?? dropCode,
            AuthType = (AuthType)Enum(e, "auth_type", path, HubbleNames.Of, System.Enum.GetValues<AuthType>()),
            IP = e.TryGetProperty("IP", out var ip) ? ParseIP(ip, path + ".IP") : default,
            L4 = e.TryGetProperty("l4", out var l4) ? ParseLayer4(l4, path + ".l4") : default,
            Source = e.TryGetProperty("source", out var src) ? ParseEndpoint(src, path + ".source") : default,
            Destination = e.TryGetProperty("destination", out var dst) ? ParseEndpoint(dst, path + ".destination") : default,
            Type = (FlowType)Enum(e, "Type", path, HubbleNames.Of, System.Enum.GetValues<FlowType>()),
            NodeName = String(e, "node_name", path),
            SourceNames = Strings(e, "source_names", path),
            DestinationNames = Strings(e, "destination_names", path),
            L7 = e.TryGetProperty("l7", out var l7) ? ParseLayer7(l7, path + ".l7") : null,
            IsReply = e.TryGetProperty("is_reply", out var isReply) ? Bool(isReply, path + ".is_reply")
                : e.TryGetProperty("reply", out var reply) && Bool(reply, path + ".reply") ? true : null,
            EventType = e.TryGetProperty("event_type", out var et)
                ? new CiliumEventType(Int32(et, "type", path + ".event_type"), Int32(et, "sub_type", path + ".event_type"))
                : default,
            SourceService = e.TryGetProperty("source_service", out var ss) ? ParseService(ss, path + ".source_service") : null,
            DestinationService = e.TryGetProperty("destination_service", out var ds) ? ParseService(ds, path + ".destination_service") : null,
            TrafficDirection = (FlowTrafficDirection)Enum(e, "traffic_direction", path, HubbleNames.Of, System.Enum.GetValues<FlowTrafficDirection>()),
            PolicyMatchType = (PolicyMatchType)UInt32(e, "policy_match_type", path),
            TraceObservationPoint = (TraceObservationPoint)Enum(e, "trace_observation_point", path, HubbleNames.Of, System.Enum.GetValues<TraceObservationPoint>()),
            TraceReason = (TraceReason)Enum(e, "trace_reason", path, HubbleNames.Of, System.Enum.GetValues<TraceReason>()),
            File = e.TryGetProperty("file", out var file)
                ? new FlowFileInfo(String(file, "name", path + ".file") ?? "", UInt32(file, "line", path + ".file"))
                : null,
            Interface = e.TryGetProperty("interface", out var nic)
                ? new FlowInterface(UInt32(nic, "index", path + ".interface"), String(nic, "name", path + ".interface"))
                : null,
            ProxyPort = UInt32(e, "proxy_port", path),
            Summary = String(e, "Summary", path),
            EgressAllowedBy = Policies(e, "egress_allowed_by", path),
            IngressAllowedBy = Policies(e, "ingress_allowed_by", path),
            EgressDeniedBy = Policies(e, "egress_denied_by", path),
            IngressDeniedBy = Policies(e, "ingress_denied_by", path),
            PolicyLog = Strings(e, "policy_log", path),
        };
    }

    private static FlowIP ParseIP(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        return new FlowIP
        {
            Source = Address(e, "source", path),
            Destination = Address(e, "destination", path),
            Encrypted = e.TryGetProperty("encrypted", out var enc) && Bool(enc, path + ".encrypted"),
        };
    }

    private static Layer4 ParseLayer4(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        if (e.TryGetProperty("TCP", out var tcp))
        {
            var flags = TcpFlags.None;
            if (tcp.TryGetProperty("flags", out var f))
            {
                Expect(f, JsonValueKind.Object, path + ".TCP.flags");
                foreach (var flag in f.EnumerateObject())
                {
                    if (FlowText.TryParseTcpFlag(flag.Name, out var bit) && Bool(flag.Value, $"{path}.TCP.flags.{flag.Name}"))
                    {
                        flags |= bit;
                    }
                }
            }

            return Layer4.Tcp(Port(tcp, "source_port", path + ".TCP"), Port(tcp, "destination_port", path + ".TCP"), flags);
        }

        if (e.TryGetProperty("UDP", out var udp))
        {
            return Layer4.Udp(Port(udp, "source_port", path + ".UDP"), Port(udp, "destination_port", path + ".UDP"));
        }

        if (e.TryGetProperty("SCTP", out var sctp))
        {
            return Layer4.Sctp(Port(sctp, "source_port", path + ".SCTP"), Port(sctp, "destination_port", path + ".SCTP"));
        }

        if (e.TryGetProperty("ICMPv4", out var v4))
        {
            return Layer4.IcmpV4(Byte(v4, "type", path + ".ICMPv4"), Byte(v4, "code", path + ".ICMPv4"));
        }

        if (e.TryGetProperty("ICMPv6", out var v6))
        {
            return Layer4.IcmpV6(Byte(v6, "type", path + ".ICMPv6"), Byte(v6, "code", path + ".ICMPv6"));
        }

        return default;
    }

    private static FlowEndpoint ParseEndpoint(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        var labels = Strings(e, "labels", path);
        List<FlowWorkload>? workloads = null;
        if (e.TryGetProperty("workloads", out var w))
        {
            Expect(w, JsonValueKind.Array, path + ".workloads");
            workloads = [.. w.EnumerateArray().Select((item, i) =>
                new FlowWorkload(String(item, "name", $"{path}.workloads[{i}]") ?? "", String(item, "kind", $"{path}.workloads[{i}]") ?? ""))];
        }

        return new FlowEndpoint
        {
            Id = UInt32(e, "ID", path),
            Identity = UInt32(e, "identity", path),
            ClusterName = String(e, "cluster_name", path),
            Namespace = String(e, "namespace", path),
            Labels = labels is null ? null : new LabelSet(labels.Select(l => Label.Parse(l, Label.SourceUnspec))),
            PodName = String(e, "pod_name", path),
            Workloads = workloads,
        };
    }

    private static Layer7 ParseLayer7(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        HttpInfo? http = null;
        KafkaInfo? kafka = null;
        if (e.TryGetProperty("http", out var h))
        {
            Expect(h, JsonValueKind.Object, path + ".http");
            List<HttpHeader>? headers = null;
            if (h.TryGetProperty("headers", out var hs))
            {
                Expect(hs, JsonValueKind.Array, path + ".http.headers");
                headers = [.. hs.EnumerateArray().Select((item, i) =>
                    new HttpHeader(String(item, "key", $"{path}.http.headers[{i}]") ?? "", String(item, "value", $"{path}.http.headers[{i}]") ?? ""))];
            }

            http = new HttpInfo
            {
                Code = UInt32(h, "code", path + ".http"),
                Method = String(h, "method", path + ".http"),
                Url = String(h, "url", path + ".http"),
                Protocol = String(h, "protocol", path + ".http"),
                Headers = headers,
            };
        }
        else if (e.TryGetProperty("kafka", out var k))
        {
            Expect(k, JsonValueKind.Object, path + ".kafka");
            var apiKeyText = String(k, "api_key", path + ".kafka") ?? "";
            var apiKey = KafkaApiKeys.ByName.TryGetValue(apiKeyText, out var named) ? named
                : short.TryParse(apiKeyText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number
                : throw new FormatException($"{path}.kafka.api_key: unknown API key \"{apiKeyText}\"");
            kafka = new KafkaInfo
            {
                ErrorCode = Int32(k, "error_code", path + ".kafka"),
                ApiVersion = Int32(k, "api_version", path + ".kafka"),
                ApiKey = apiKey,
                CorrelationId = Int32(k, "correlation_id", path + ".kafka"),
                Topic = String(k, "topic", path + ".kafka"),
            };
        }

        return new Layer7
        {
            Type = (L7FlowType)Enum(e, "type", path, HubbleNames.Of, System.Enum.GetValues<L7FlowType>()),
            LatencyNs = UInt64(e, "latency_ns", path),
            Http = http,
            Kafka = kafka,
        };
    }

    private static FlowService? ParseService(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        return new FlowService(String(e, "name", path) ?? "", String(e, "namespace", path));
    }

    private static List<FlowPolicy>? Policies(JsonElement e, string name, string path)
    {
        if (!e.TryGetProperty(name, out var list))
        {
            return null;
        }

        Expect(list, JsonValueKind.Array, $"{path}.{name}");
        return [.. list.EnumerateArray().Select((p, i) =>
        {
            var at = $"{path}.{name}[{i}]";
            Expect(p, JsonValueKind.Object, at);
            var policy = new PolicyRef(String(p, "kind", at) ?? "", String(p, "namespace", at), String(p, "name", at) ?? "");
            return new FlowPolicy(policy, UInt64(p, "revision", at), Strings(p, "labels", at) ?? []);
        })];
    }

    private static DropReason DropReasonOf(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetByte(out var code))
        {
            return new DropReason(code);
        }

        if (e.ValueKind == JsonValueKind.String && DropReason.TryParse(e.GetString()!, out var reason))
        {
            return reason;
        }

        throw new FormatException($"{path}: unknown drop reason {e.GetRawText()}");
    }

    private static int Enum<T>(JsonElement e, string name, string path, Func<T, string?> nameOf, T[] values)
        where T : struct, System.Enum
    {
        if (!e.TryGetProperty(name, out var value))
        {
            return 0;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString();
            foreach (var v in values)
            {
                if (nameOf(v) == text)
                {
                    return Convert.ToInt32(v, CultureInfo.InvariantCulture);
                }
            }
        }

        throw new FormatException($"{path}.{name}: unknown value {value.GetRawText()}");
    }

    private static long Timestamp(JsonElement e, string path)
    {
        var text = e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"{path}: expected an RFC 3339 time string");
        if (text.Length < 20)
        {
            throw new FormatException($"{path}: \"{text}\" is not an RFC 3339 time");
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var zone = text.IndexOfAny(['Z', '+', '-'], 19);
        if (zone < 0)
        {
            throw new FormatException($"{path}: \"{text}\" has no time zone");
        }

        var head = dot > 0 && dot < zone ? text[..dot] + text[zone..] : text;
        if (!DateTimeOffset.TryParseExact(head, "yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture, DateTimeStyles.None, out var seconds))
        {
            throw new FormatException($"{path}: \"{text}\" is not an RFC 3339 time");
        }

        long nanos = 0;
        if (dot > 0 && dot < zone)
        {
            var fraction = text[(dot + 1)..zone];
            if (fraction.Length is 0 or > 9 || !long.TryParse(fraction, NumberStyles.None, CultureInfo.InvariantCulture, out nanos))
            {
                throw new FormatException($"{path}: \"{text}\" has an invalid fraction");
            }

            for (var i = fraction.Length; i < 9; i++)
            {
                nanos *= 10;
            }
        }

        return (seconds.ToUnixTimeSeconds() * 1_000_000_000) + nanos;
    }

    private static Guid Guid(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String && System.Guid.TryParse(e.GetString(), out var g)
            ? g
            : throw new FormatException($"{path}: expected a uuid, got {e.GetRawText()}");

    private static IPAddress? Address(JsonElement e, string name, string path)
    {
        var text = String(e, name, path);
        return text is null ? null
            : IPAddress.TryParse(text, out var address) ? address
            : throw new FormatException($"{path}.{name}: \"{text}\" is not an IP address");
    }

    private static string? String(JsonElement e, string name, string path)
    {
        if (!e.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new FormatException($"{path}.{name}: expected a string");
    }

    private static List<string>? Strings(JsonElement e, string name, string path)
    {
        if (!e.TryGetProperty(name, out var value))
        {
            return null;
        }

        Expect(value, JsonValueKind.Array, $"{path}.{name}");
        return [.. value.EnumerateArray().Select((v, i) =>
            v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FormatException($"{path}.{name}[{i}]: expected a string"))];
    }

    private static bool Bool(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new FormatException($"{path}: expected true or false"),
    };

    private static uint UInt32(JsonElement e, string name, string path) =>
        e.TryGetProperty(name, out var value) ? UInt32(value, $"{path}.{name}") : 0;

    private static uint UInt32(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetUInt32(out var n) ? n
        : value.ValueKind == JsonValueKind.String && uint.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out n) ? n
        : throw new FormatException($"{path}: expected an unsigned 32-bit number, got {value.GetRawText()}");

    private static ulong UInt64(JsonElement e, string name, string path)
    {
        if (!e.TryGetProperty(name, out var value))
        {
            return 0;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out var n) ? n
            : value.ValueKind == JsonValueKind.String && ulong.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out n) ? n
            : throw new FormatException($"{path}.{name}: expected an unsigned 64-bit number, got {value.GetRawText()}");
    }

    private static int Int32(JsonElement e, string name, string path)
    {
        if (!e.TryGetProperty(name, out var value))
        {
            return 0;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n
            : throw new FormatException($"{path}.{name}: expected a 32-bit number, got {value.GetRawText()}");
    }

    private static ushort Port(JsonElement e, string name, string path)
    {
        var n = UInt32(e, name, path);
        return n <= ushort.MaxValue ? (ushort)n : throw new FormatException($"{path}.{name}: port {n} is out of range");
    }

    private static byte Byte(JsonElement e, string name, string path)
    {
        var n = UInt32(e, name, path);
        return n <= byte.MaxValue ? (byte)n : throw new FormatException($"{path}.{name}: {n} is out of range");
    }

    private static void Expect(JsonElement e, JsonValueKind kind, string path)
    {
        if (e.ValueKind != kind)
        {
            throw new FormatException($"{path}: expected {(kind == JsonValueKind.Object ? "an object" : "an array")}, got {e.ValueKind.ToString().ToLowerInvariant()}");
        }
    }
}
