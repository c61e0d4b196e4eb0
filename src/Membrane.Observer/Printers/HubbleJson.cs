using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Printers;

/// <summary>
/// Writes flows as Hubble's protobuf JSON (<c>hubble observe -o json</c>): <c>GetFlowsResponse</c> objects
/// <c>{"flow":{…},"node_name":…,"time":…}</c> with the proto field names, enum value names, 64-bit integers as strings,
/// RFC 3339 timestamps, and default values left out; so <c>jq</c> scripts written for Hubble work unchanged.
/// </summary>
public static class HubbleJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The output is JSON Lines for terminals and jq, never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    // flow.proto's TCPFlags field order.
    private static readonly (TcpFlags Flag, string Name)[] TcpFlagNames =
    [
        (TcpFlags.Fin, "FIN"), (TcpFlags.Syn, "SYN"), (TcpFlags.Rst, "RST"), (TcpFlags.Psh, "PSH"), (TcpFlags.Ack, "ACK"),
        (TcpFlags.Urg, "URG"), (TcpFlags.Ece, "ECE"), (TcpFlags.Cwr, "CWR"), (TcpFlags.Ns, "NS"),
    ];

    /// <summary>Options for writers that produce Hubble JSON (compact, no HTML escaping).</summary>
    public static JsonWriterOptions Options => WriterOptions;

    /// <summary>Serializes one response to a single line of JSON (no newline).</summary>
    public static string Serialize(in FlowResponse response)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteResponse(json, response);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes a <c>GetFlowsResponse</c> object.</summary>
    public static void WriteResponse(Utf8JsonWriter json, in FlowResponse response)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        if (response.Kind == FlowResponseKind.Flow)
        {
            json.WritePropertyName("flow");
            WriteFlow(json, response.Flow);
        }
        else
        {
            json.WriteStartObject("lost_events");
            WriteEnum(json, "source", HubbleNames.Of(response.Lost.Source), (int)response.Lost.Source);
            if (response.Lost.NumEventsLost != 0)
            {
                json.WriteString("num_events_lost", response.Lost.NumEventsLost.ToString(CultureInfo.InvariantCulture));
            }

            if (response.Lost.Cpu is int cpu)
            {
                json.WriteNumber("cpu", cpu);
            }

            json.WriteEndObject();
        }

        WriteString(json, "node_name", response.NodeName);
        if (response.TimeUnixNanos != 0)
        {
            json.WriteString("time", Timestamp(response.TimeUnixNanos));
        }

        json.WriteEndObject();
    }

    /// <summary>Writes a <c>flow.Flow</c> object, fields in the proto file's order.</summary>
    public static void WriteFlow(Utf8JsonWriter json, in Flow flow)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        if (flow.TimeUnixNanos != 0)
        {
            json.WriteString("time", Timestamp(flow.TimeUnixNanos));
        }

        if (flow.Uuid != Guid.Empty)
        {
            json.WriteString("uuid", flow.Uuid.ToString("D"));
        }

        if (flow.Verdict != Verdict.Unknown)
        {
            WriteEnum(json, "verdict", HubbleNames.Of(flow.Verdict), (int)flow.Verdict);
        }

        if (flow.DropReason.Code != 0)
        {
            json.WriteNumber("drop_reason", flow.DropReason.Code);
        }

        if (flow.AuthType != AuthType.Disabled)
        {
            WriteEnum(json, "auth_type", HubbleNames.Of(flow.AuthType), (int)flow.AuthType);
        }

        if (!flow.IP.IsEmpty)
        {
            json.WriteStartObject("IP");
            WriteString(json, "source", flow.IP.Source?.ToString());
            WriteString(json, "destination", flow.IP.Destination?.ToString());
            if (flow.IP.Version != IPVersion.NotUsed)
            {
                WriteEnum(json, "ipVersion", HubbleNames.Of(flow.IP.Version), (int)flow.IP.Version);
            }

            if (flow.IP.Encrypted)
            {
                json.WriteBoolean("encrypted", true);
            }

            json.WriteEndObject();
        }

        if (flow.L4.Protocol != L4Protocol.None)
        {
            WriteLayer4(json, flow.L4);
        }

        json.WritePropertyName("source");
        WriteEndpoint(json, flow.Source);
        json.WritePropertyName("destination");
        WriteEndpoint(json, flow.Destination);
        if (flow.Type != FlowType.Unknown)
        {
            WriteEnum(json, "Type", HubbleNames.Of(flow.Type), (int)flow.Type);
        }

        WriteString(json, "node_name", flow.NodeName);
        WriteStrings(json, "source_names", flow.SourceNames);
        WriteStrings(json, "destination_names", flow.DestinationNames);
        if (flow.L7 is Layer7 l7)
        {
            WriteLayer7(json, l7);
        }

        if (flow.IsReply == true)
        {
            json.WriteBoolean("reply", true);
        }

        if (flow.EventType != default)
        {
            json.WriteStartObject("event_type");
            WriteNonZero(json, "type", flow.EventType.Type);
            WriteNonZero(json, "sub_type", flow.EventType.SubType);
            json.WriteEndObject();
        }

        WriteService(json, "source_service", flow.SourceService);
        WriteService(json, "destination_service", flow.DestinationService);
        if (flow.TrafficDirection != FlowTrafficDirection.Unknown)
        {
            WriteEnum(json, "traffic_direction", HubbleNames.Of(flow.TrafficDirection), (int)flow.TrafficDirection);
        }

        WriteNonZero(json, "policy_match_type", (uint)flow.PolicyMatchType);
        if (flow.TraceObservationPoint != TraceObservationPoint.Unknown)
        {
            WriteEnum(json, "trace_observation_point", HubbleNames.Of(flow.TraceObservationPoint), (int)flow.TraceObservationPoint);
        }

        if (flow.DropReason.Code != 0)
        {
            WriteEnum(json, "drop_reason_desc", flow.DropReason.HubbleName, flow.DropReason.Code);
        }

        if (flow.IsReply is bool isReply)
        {
            json.WriteBoolean("is_reply", isReply);
        }

        if (flow.Interface is FlowInterface nic)
        {
            json.WriteStartObject("interface");
            WriteNonZero(json, "index", nic.Index);
            WriteString(json, "name", nic.Name);
            json.WriteEndObject();
        }

        WriteNonZero(json, "proxy_port", flow.ProxyPort);
        if (flow.TraceReason != TraceReason.Unknown)
        {
            WriteEnum(json, "trace_reason", HubbleNames.Of(flow.TraceReason), (int)flow.TraceReason);
        }

        if (flow.File is FlowFileInfo file)
        {
            json.WriteStartObject("file");
            WriteString(json, "name", file.Name);
            WriteNonZero(json, "line", file.Line);
            json.WriteEndObject();
        }

        var summary = FlowText.Summary(flow);
        if (summary.Length > 0)
        {
            json.WriteString("Summary", summary);
        }

        WritePolicies(json, "egress_allowed_by", flow.EgressAllowedBy);
        WritePolicies(json, "ingress_allowed_by", flow.IngressAllowedBy);
        WritePolicies(json, "egress_denied_by", flow.EgressDeniedBy);
        WritePolicies(json, "ingress_denied_by", flow.IngressDeniedBy);
        WriteStrings(json, "policy_log", flow.PolicyLog);
        json.WriteEndObject();
    }

    /// <summary>A protobuf JSON timestamp: RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.</summary>
    public static string Timestamp(long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000;
        }

        var time = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
        var head = time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var fraction = nanos == 0 ? ""
            : nanos % 1_000_000 == 0 ? "." + (nanos / 1_000_000).ToString("000", CultureInfo.InvariantCulture)
            : nanos % 1000 == 0 ? "." + (nanos / 1000).ToString("000000", CultureInfo.InvariantCulture)
            : "." + nanos.ToString("000000000", CultureInfo.InvariantCulture);
        return head + fraction + "Z";
    }

    private static void WriteLayer4(Utf8JsonWriter json, in Layer4 l4)
    {
        json.WriteStartObject("l4");
        switch (l4.Protocol)
        {
            case L4Protocol.Tcp:
                json.WriteStartObject("TCP");
                WriteNonZero(json, "source_port", l4.SourcePort);
                WriteNonZero(json, "destination_port", l4.DestinationPort);
                if (l4.TcpFlags != TcpFlags.None)
                {
                    WriteTcpFlags(json, l4.TcpFlags);
                }

                json.WriteEndObject();
                break;
            case L4Protocol.Udp or L4Protocol.Sctp:
                json.WriteStartObject(l4.Protocol == L4Protocol.Udp ? "UDP" : "SCTP");
                WriteNonZero(json, "source_port", l4.SourcePort);
                WriteNonZero(json, "destination_port", l4.DestinationPort);
                json.WriteEndObject();
                break;
            case L4Protocol.IcmpV4 or L4Protocol.IcmpV6:
                json.WriteStartObject(l4.Protocol == L4Protocol.IcmpV4 ? "ICMPv4" : "ICMPv6");
                WriteNonZero(json, "type", l4.IcmpType);
                WriteNonZero(json, "code", l4.IcmpCode);
                json.WriteEndObject();
                break;
        }

        json.WriteEndObject();
    }

    private static void WriteTcpFlags(Utf8JsonWriter json, TcpFlags flags)
    {
        json.WriteStartObject("flags");
        foreach (var (flag, name) in TcpFlagNames)
        {
            if ((flags & flag) != 0)
            {
                json.WriteBoolean(name, true);
            }
        }

        json.WriteEndObject();
    }

    private static void WriteLayer7(Utf8JsonWriter json, in Layer7 l7)
    {
        json.WriteStartObject("l7");
        if (l7.Type != L7FlowType.Unknown)
        {
            WriteEnum(json, "type", HubbleNames.Of(l7.Type), (int)l7.Type);
        }

        if (l7.LatencyNs != 0)
        {
            json.WriteString("latency_ns", l7.LatencyNs.ToString(CultureInfo.InvariantCulture));
        }

        if (l7.Http is HttpInfo http)
        {
            json.WriteStartObject("http");
            WriteNonZero(json, "code", http.Code);
            WriteString(json, "method", http.Method);
            WriteString(json, "url", http.Url);
            WriteString(json, "protocol", http.Protocol);
            if (http.Headers is { Count: > 0 } headers)
            {
                json.WriteStartArray("headers");
                foreach (var header in headers)
                {
                    json.WriteStartObject();
                    WriteString(json, "key", header.Key);
                    WriteString(json, "value", header.Value);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }
        else if (l7.Kafka is KafkaInfo kafka)
        {
            json.WriteStartObject("kafka");
            WriteNonZero(json, "error_code", kafka.ErrorCode);
            WriteNonZero(json, "api_version", kafka.ApiVersion);
            json.WriteString("api_key", HubbleNames.KafkaApiKey(kafka.ApiKey));
            WriteNonZero(json, "correlation_id", kafka.CorrelationId);
            WriteString(json, "topic", kafka.Topic);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void WriteEndpoint(Utf8JsonWriter json, in FlowEndpoint endpoint)
    {
        json.WriteStartObject();
        WriteNonZero(json, "ID", endpoint.Id);
        WriteNonZero(json, "identity", endpoint.Identity);
        WriteString(json, "cluster_name", endpoint.ClusterName);
        WriteString(json, "namespace", endpoint.Namespace);
        if (endpoint.Labels is { Count: > 0 } labels)
        {
            json.WriteStartArray("labels");
            foreach (var label in labels)
            {
                json.WriteStringValue(label.ToString());
            }

            json.WriteEndArray();
        }

        WriteString(json, "pod_name", endpoint.PodName);
        if (endpoint.Workloads is { Count: > 0 } workloads)
        {
            json.WriteStartArray("workloads");
            foreach (var w in workloads)
            {
                json.WriteStartObject();
                WriteString(json, "name", w.Name);
                WriteString(json, "kind", w.Kind);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteService(Utf8JsonWriter json, string name, FlowService? service)
    {
        if (service is not FlowService s)
        {
            return;
        }

        json.WriteStartObject(name);
        WriteString(json, "name", s.Name);
        WriteString(json, "namespace", s.Namespace);
        json.WriteEndObject();
    }

    private static void WritePolicies(Utf8JsonWriter json, string name, IReadOnlyList<FlowPolicy>? policies)
    {
        if (policies is null || policies.Count == 0)
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var p in policies)
        {
            json.WriteStartObject();
            WriteString(json, "name", p.Name);
            WriteString(json, "namespace", p.Namespace);
            WriteStrings(json, "labels", p.Labels);
            if (p.Revision != 0)
            {
                json.WriteString("revision", p.Revision.ToString(CultureInfo.InvariantCulture));
            }

            WriteString(json, "kind", p.Kind);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        if (values is null || values.Count == 0)
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var v in values)
        {
            json.WriteStringValue(v);
        }

        json.WriteEndArray();
    }

    private static void WriteEnum(Utf8JsonWriter json, string name, string? value, int number)
    {
        if (value is null)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteString(Utf8JsonWriter json, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteNonZero(Utf8JsonWriter json, string name, long value)
    {
        if (value != 0)
        {
            json.WriteNumber(name, value);
        }
    }
}
