using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Printers;

/// <summary>The event kinds <c>membrane monitor --type</c> selects.</summary>
[Flags]
public enum MonitorEventKinds
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><c>drop</c>: datapath drops and L7 requests the proxy denied.</summary>
    Drop = 1,

    /// <summary><c>trace</c>: packets at observation points.</summary>
    Trace = 2,

    /// <summary><c>policy-verdict</c>: policy decisions of the datapath.</summary>
    PolicyVerdict = 4,

    /// <summary><c>l7</c>: proxy access-log records (requests and responses).</summary>
    L7 = 8,

    /// <summary>Every kind (no <c>--type</c>).</summary>
    All = Drop | Trace | PolicyVerdict | L7,
}

/// <summary>Output of <c>membrane monitor</c>: Cilium's one-line text or its JSON (<c>-o json</c>).</summary>
public enum MonitorOutputFormat
{
    /// <summary>Cilium's monitor lines.</summary>
    Text,

    /// <summary>One JSON object per event, Cilium's monitor JSON keys.</summary>
    Json,
}

/// <summary>
/// Writes flows as <c>cilium monitor</c> lines:
/// <list type="bullet">
/// <item>drop: <c>xx drop (Policy denied) flow 0x1f2e3d4c to endpoint 1121, ifindex 29, file bpf_lxc.c:1294, identity world-&gt;4321: 10.0.0.9:49876 -&gt; 10.0.1.55:80 tcp ACK HTTP/1.1 DELETE /api/v1/users/123</c>
/// (the L7 part when the proxy denied a request);</item>
/// <item>policy verdict: <c>Policy verdict log: flow 0x… local EP ID 1121, remote ID 2986, proto 6, ingress, action allow, auth: disabled, match L3-L4, a:p -&gt; b:p tcp SYN</c>;</item>
/// <item>trace: <c>-&gt; endpoint 1121 flow 0x… identity 2986-&gt;4321 state new ifindex lxc12 orig-ip 0.0.0.0: a:p -&gt; b:p tcp SYN</c>;</item>
/// <item>l7: <c>&lt;- Request http from 1120 ([k8s:app=frontend]) to 1121 ([k8s:app=users]), identity 2986-&gt;4321, verdict Denied DELETE http://users/api/v1/users/123 =&gt; 403</c>.</item>
/// </list>
/// </summary>
public sealed class MonitorPrinter
{
    private readonly TextWriter _output;
    private readonly MonitorOutputFormat _format;
    private readonly MonitorEventKinds _kinds;
    private readonly bool _numeric;
    private readonly bool _printPolicyNames;

    /// <summary>Creates a monitor printer.</summary>
    /// <param name="output">Where lines go.</param>
    /// <param name="format">Text or JSON.</param>
    /// <param name="kinds">The kinds to print (<c>--type</c>); others are skipped.</param>
    /// <param name="numeric">Print identities as numbers only (<c>-n</c>), not reserved names.</param>
    /// <param name="printPolicyNames">Append the policies that decided the event.</param>
    public MonitorPrinter(TextWriter output, MonitorOutputFormat format = MonitorOutputFormat.Text,
        MonitorEventKinds kinds = MonitorEventKinds.All, bool numeric = false, bool printPolicyNames = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _format = format;
        _kinds = kinds;
        _numeric = numeric;
        _printPolicyNames = printPolicyNames;
    }

    /// <summary>Parses a <c>--type</c> value: <c>drop</c>, <c>trace</c>, <c>policy-verdict</c> or <c>l7</c>.</summary>
    public static bool TryParseKind(string name, out MonitorEventKinds kind)
    {
        kind = name switch
        {
            "drop" => MonitorEventKinds.Drop,
            "trace" => MonitorEventKinds.Trace,
            "policy-verdict" => MonitorEventKinds.PolicyVerdict,
            "l7" => MonitorEventKinds.L7,
            _ => MonitorEventKinds.None,
        };
        return kind != MonitorEventKinds.None;
    }

    /// <summary>The kinds a flow belongs to: an L7 request the proxy denied is both <c>l7</c> and <c>drop</c>.</summary>
    public static MonitorEventKinds KindsOf(in Flow flow) => flow.EventType.Type switch
    {
        MonitorMessageType.Drop => MonitorEventKinds.Drop,
        MonitorMessageType.Trace => MonitorEventKinds.Trace,
        MonitorMessageType.PolicyVerdict => MonitorEventKinds.PolicyVerdict,
        MonitorMessageType.AccessLog => flow.Verdict == Verdict.Dropped ? MonitorEventKinds.L7 | MonitorEventKinds.Drop : MonitorEventKinds.L7,
        _ => flow.L7 is not null ? MonitorEventKinds.L7 : MonitorEventKinds.None,
    };

    /// <summary>Writes the event when its kind is selected (a denied L7 request prints as a drop line when drops are selected).</summary>
    /// <returns>True when something was written.</returns>
    public bool Write(in FlowResponse response)
    {
        if (response.Kind == FlowResponseKind.LostEvents)
        {
            var lost = response.Lost;
            if (_format == MonitorOutputFormat.Json)
            {
                WriteJson(json =>
                {
                    json.WriteString("type", "lost");
                    json.WriteString("source", HubbleNames.Of(lost.Source));
                    json.WriteNumber("lost", lost.NumEventsLost);
                });
            }
            else
            {
                WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Lost {response.Lost.NumEventsLost} events ({HubbleNames.Of(response.Lost.Source)})"));
            }

            return true;
        }

        var flow = response.Flow;
        var kinds = KindsOf(flow) & _kinds;
        if (kinds == MonitorEventKinds.None)
        {
            return false;
        }

        var kind = (kinds & MonitorEventKinds.Drop) != 0 ? MonitorEventKinds.Drop
            : (kinds & MonitorEventKinds.L7) != 0 ? MonitorEventKinds.L7
            : kinds;
        if (_format == MonitorOutputFormat.Json)
        {
            WriteJson(json => WriteJsonBody(json, in flow, kind));
            return true;
        }

        var line = kind switch
        {
            MonitorEventKinds.Drop => DropLine(flow),
            MonitorEventKinds.Trace => TraceLine(flow),
            MonitorEventKinds.PolicyVerdict => PolicyVerdictLine(flow),
            _ => L7Line(flow),
        };
        if (_printPolicyNames && FlowFormat.PolicyNames(flow) is { Length: > 0 } policies)
        {
            line += ", " + policies;
        }

        WriteLine(line);
        return true;
    }

    /// <summary>Flushes the output.</summary>
    public void Flush() => _output.Flush();

    /// <summary>Cilium's connection summary: <c>10.0.0.9:49876 -&gt; 10.0.1.55:80 tcp SYN, ACK</c>, <c>a -&gt; b EchoRequest</c>.</summary>
    public static string ConnectionSummary(in Flow flow)
    {
        if (flow.IP.IsEmpty)
        {
            return "[unknown]";
        }

        var src = flow.IP.Source?.ToString() ?? "";
        var dst = flow.IP.Destination?.ToString() ?? "";
        var l4 = flow.L4;
        switch (l4.Protocol)
        {
            case L4Protocol.IcmpV4 or L4Protocol.IcmpV6:
                return $"{src} -> {dst} {FlowText.IcmpTypeCode(l4.Protocol == L4Protocol.IcmpV6, l4.IcmpType, l4.IcmpCode)}";
            case L4Protocol.Tcp or L4Protocol.Udp or L4Protocol.Sctp:
                var proto = l4.Protocol.ToString().ToLowerInvariant();
                var s = $"{FlowFormat.JoinHostPort(src, l4.SourcePort)} -> {FlowFormat.JoinHostPort(dst, l4.DestinationPort)} {proto}";
                // Cilium's monitor lists only these four flags (pkg/monitor/dissect.go getTCPInfo).
                var flags = FlowText.TcpFlagList(l4.TcpFlags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst | TcpFlags.Fin));
                return flags.Length > 0 ? $"{s} {flags}" : s;
            default:
                return $"{src} -> {dst}";
        }
    }

    private string DropLine(in Flow flow)
    {
        var reason = flow.DropReason.Code != 0 ? flow.DropReason : new DropReason((byte)flow.EventType.SubType);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"xx drop ({reason.Text}) flow {Hex(flow.Hash)} to endpoint {flow.Destination.Id}");
        if (flow.Interface is FlowInterface nic && nic.Index != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $", ifindex {nic.Index}");
        }

        if (flow.File is FlowFileInfo file)
        {
            sb.Append(CultureInfo.InvariantCulture, $", file {file.Name}:{file.Line}");
        }

        sb.Append(CultureInfo.InvariantCulture, $", identity {Id(flow.Source.Identity)}->{Id(flow.Destination.Identity)}: {ConnectionSummary(flow)}");
        if (flow.L7 is Layer7 l7)
        {
            if (l7.Http is HttpInfo http)
            {
                var path = UrlPathAndQuery(http.Url);
                sb.Append(CultureInfo.InvariantCulture, $" {http.Protocol} {http.Method} {path}");
            }
            else if (l7.Kafka is KafkaInfo kafka)
            {
                sb.Append(CultureInfo.InvariantCulture, $" Kafka {HubbleNames.KafkaApiKey(kafka.ApiKey)} topic {kafka.Topic}");
                if (kafka.DeniedTopics is not null)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" denied topics {kafka.DeniedTopics}");
                }

            }
        }

        return sb.ToString();
    }

    private string PolicyVerdictLine(in Flow flow)
    {
        var ingress = flow.TrafficDirection == FlowTrafficDirection.Ingress;
        var local = ingress ? flow.Destination.Id : flow.Source.Id;
        var remote = ingress ? flow.Source.Identity : flow.Destination.Identity;
        return string.Create(CultureInfo.InvariantCulture,
            $"Policy verdict log: flow {Hex(flow.Hash)} local EP ID {local}, remote ID {Id(remote)}, proto {flow.L4.IpProtocolNumber}, "
            + $"{(ingress ? "ingress" : "egress")}, action {Action(flow.Verdict)}, auth: {Auth(flow.AuthType)}, "
            + $"match {HubbleNames.Of(flow.PolicyMatchType)}, {ConnectionSummary(flow)}");
    }

    private string TraceLine(in Flow flow)
    {
        var point = flow.TraceObservationPoint != TraceObservationPoint.Unknown
            ? flow.TraceObservationPoint
            : MonitorMessageType.TraceObservationPointFromSubType(flow.EventType.SubType);
        var ifname = flow.Interface is FlowInterface nic
            ? nic.Name ?? nic.Index.ToString(CultureInfo.InvariantCulture)
            : "0";
        var origIp = flow.OriginalIP?.ToString()
            ?? (flow.IP.Version == IPVersion.IPv6 ? IPAddress.IPv6Any : IPAddress.Any).ToString();
        return string.Create(CultureInfo.InvariantCulture,
            $"{TraceSummary(point, flow)} flow {Hex(flow.Hash)} identity {Id(flow.Source.Identity)}->{Id(flow.Destination.Identity)} "
            + $"state {HubbleNames.MonitorStateOf(flow.TraceReason)} ifindex {ifname} orig-ip {origIp}: {ConnectionSummary(flow)}");
    }

    private string L7Line(in Flow flow)
    {
        var l7 = flow.L7 ?? default;
        var direction = flow.TrafficDirection switch
        {
            FlowTrafficDirection.Ingress => "<-",
            FlowTrafficDirection.Egress => "->",
            _ => "??",
        };
        var proto = l7.Http is not null ? "http" : l7.Kafka is not null ? "kafka" : "unknown-l7";
        var response = l7.Type == L7FlowType.Response;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"{direction} {(response ? "Response" : "Request")} {proto} {(response ? "to" : "from")} {flow.Source.Id} ({Labels(flow.Source)}) "
            + $"{(response ? "from" : "to")} {flow.Destination.Id} ({Labels(flow.Destination)}), "
            + $"identity {Id(flow.Source.Identity)}->{Id(flow.Destination.Identity)}, verdict {L7Verdict(flow.Verdict)}");
        if (l7.Http is HttpInfo http)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {http.Method} {http.Url} => {http.Code}");
        }
        else if (l7.Kafka is KafkaInfo kafka)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {HubbleNames.KafkaApiKey(kafka.ApiKey)} topic {kafka.Topic}");
            if (kafka.DeniedTopics is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $" denied topics {kafka.DeniedTopics}");
            }

            sb.Append(CultureInfo.InvariantCulture, $" => {kafka.ErrorCode}");
        }

        return sb.ToString();
    }

    private void WriteJsonBody(Utf8JsonWriter json, in Flow flow, MonitorEventKinds kind)
    {
        switch (kind)
        {
            case MonitorEventKinds.Drop:
                var reason = flow.DropReason.Code != 0 ? flow.DropReason : new DropReason((byte)flow.EventType.SubType);
                json.WriteString("type", "drop");
                json.WriteString("mark", Hex(flow.Hash));
                json.WriteString("reason", reason.Text);
                json.WriteNumber("source", flow.Source.Id);
                json.WriteNumber("srcLabel", flow.Source.Identity);
                json.WriteNumber("dstLabel", flow.Destination.Identity);
                json.WriteNumber("dstID", flow.Destination.Id);
                json.WriteNumber("Ifindex", flow.Interface?.Index ?? 0);
                if (flow.File is FlowFileInfo file)
                {
                    json.WriteString("file", file.Name);
                    json.WriteNumber("line", file.Line);
                }

                WriteL7Json(json, flow);
                break;
            case MonitorEventKinds.Trace:
                var point = flow.TraceObservationPoint != TraceObservationPoint.Unknown
                    ? flow.TraceObservationPoint
                    : MonitorMessageType.TraceObservationPointFromSubType(flow.EventType.SubType);
                json.WriteString("type", "trace");
                json.WriteString("mark", Hex(flow.Hash));
                json.WriteString("ifindex", flow.Interface?.Name ?? (flow.Interface?.Index ?? 0).ToString(CultureInfo.InvariantCulture));
                json.WriteString("state", HubbleNames.MonitorStateOf(flow.TraceReason));
                json.WriteString("observationPoint", MonitorMessageType.TraceSubTypeName(MonitorMessageType.SubTypeFromTraceObservationPoint(point)) ?? "unknown");
                json.WriteString("traceSummary", TraceSummary(point, flow));
                json.WriteNumber("source", flow.Source.Id);
                json.WriteNumber("srcLabel", flow.Source.Identity);
                json.WriteNumber("dstLabel", flow.Destination.Identity);
                json.WriteNumber("dstID", flow.Destination.Id);
                break;
            case MonitorEventKinds.PolicyVerdict:
                var ingress = flow.TrafficDirection == FlowTrafficDirection.Ingress;
                json.WriteString("type", "policy-verdict");
                json.WriteString("mark", Hex(flow.Hash));
                json.WriteNumber("source", ingress ? flow.Destination.Id : flow.Source.Id);
                json.WriteNumber("remoteLabel", ingress ? flow.Source.Identity : flow.Destination.Identity);
                json.WriteNumber("proto", flow.L4.IpProtocolNumber);
                json.WriteString("direction", ingress ? "ingress" : "egress");
                json.WriteString("action", Action(flow.Verdict));
                json.WriteString("auth", Auth(flow.AuthType));
                json.WriteString("match", HubbleNames.Of(flow.PolicyMatchType));
                break;
            default:
                var l7 = flow.L7 ?? default;
                json.WriteString("type", "logRecord");
                json.WriteString("observationPoint", flow.TrafficDirection switch
                {
                    FlowTrafficDirection.Ingress => "Ingress",
                    FlowTrafficDirection.Egress => "Egress",
                    _ => "",
                });
                json.WriteString("flowType", l7.Type == L7FlowType.Response ? "Response" : "Request");
                json.WriteString("l7Proto", l7.Http is not null ? "http" : l7.Kafka is not null ? "kafka" : "unknown-l7");
                json.WriteNumber("srcEpID", flow.Source.Id);
                WriteLabels(json, "srcEpLabels", flow.Source);
                json.WriteNumber("srcIdentity", flow.Source.Identity);
                json.WriteNumber("dstEpID", flow.Destination.Id);
                WriteLabels(json, "dstEpLabels", flow.Destination);
                json.WriteNumber("dstIdentity", flow.Destination.Identity);
                json.WriteString("verdict", L7Verdict(flow.Verdict));
                WriteL7Json(json, flow);
                break;
        }

        if (!flow.IP.IsEmpty)
        {
            json.WriteStartObject("summary");
            json.WriteStartObject("l3");
            json.WriteString("src", flow.IP.Source?.ToString());
            json.WriteString("dst", flow.IP.Destination?.ToString());
            json.WriteEndObject();
            if (flow.L4.HasPorts)
            {
                json.WriteStartObject("l4");
                json.WriteString("src", flow.L4.SourcePort.ToString(CultureInfo.InvariantCulture));
                json.WriteString("dst", flow.L4.DestinationPort.ToString(CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        WritePoliciesJson(json, flow);
    }

    private static void WriteL7Json(Utf8JsonWriter json, in Flow flow)
    {
        if (flow.L7?.Http is HttpInfo http)
        {
            json.WriteStartObject("http");
            json.WriteNumber("Code", http.Code);
            json.WriteString("Method", http.Method);
            json.WriteString("URL", http.Url);
            json.WriteString("Protocol", http.Protocol);
            json.WriteEndObject();
        }
        else if (flow.L7?.Kafka is KafkaInfo kafka)
        {
            json.WriteStartObject("kafka");
            json.WriteNumber("ErrorCode", kafka.ErrorCode);
            json.WriteNumber("APIVersion", kafka.ApiVersion);
            json.WriteString("APIKey", HubbleNames.KafkaApiKey(kafka.ApiKey));
            json.WriteNumber("CorrelationID", kafka.CorrelationId);
            json.WriteStartObject("Topic");
            json.WriteString("Topic", kafka.Topic);
            json.WriteEndObject();
            json.WriteEndObject();
        }
    }

    private static void WritePoliciesJson(Utf8JsonWriter json, in Flow flow)
    {
        Write(json, "egressAllowedBy", flow.EgressAllowedBy);
        Write(json, "ingressAllowedBy", flow.IngressAllowedBy);
        Write(json, "egressDeniedBy", flow.EgressDeniedBy);
        Write(json, "ingressDeniedBy", flow.IngressDeniedBy);

        static void Write(Utf8JsonWriter json, string name, IReadOnlyList<FlowPolicy>? policies)
        {
            if (policies is null || policies.Count == 0)
            {
                return;
            }

            json.WriteStartArray(name);
            foreach (var p in policies)
            {
                json.WriteStartObject();
                json.WriteString("kind", p.Kind);
                if (p.Namespace is not null)
                {
                    json.WriteString("namespace", p.Namespace);
                }

                json.WriteString("name", p.Name);
                if (p.DefaultDeny)
                {
                    json.WriteBoolean("defaultDeny", true);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
    }

    private static void WriteLabels(Utf8JsonWriter json, string name, in FlowEndpoint endpoint)
    {
        json.WriteStartArray(name);
        if (endpoint.Labels is not null)
        {
            foreach (var label in endpoint.Labels)
            {
                json.WriteStringValue(label.ToString());
            }
        }

        json.WriteEndArray();
    }

    private void WriteJson(Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, HubbleJson.Options))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        _output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        _output.Write('\n');
    }

    private void WriteLine(string line)
    {
        _output.Write(FlowFormat.Sanitize(line));
        _output.Write('\n');
    }

    private string Id(uint identity) =>
        _numeric ? identity.ToString(CultureInfo.InvariantCulture) : FlowText.Identity(identity);

    private static string TraceSummary(TraceObservationPoint point, in Flow flow) => point switch
    {
        TraceObservationPoint.ToEndpoint => string.Create(CultureInfo.InvariantCulture, $"-> endpoint {flow.Destination.Id}"),
        TraceObservationPoint.ToProxy => flow.ProxyPort != 0
            ? string.Create(CultureInfo.InvariantCulture, $"-> proxy port {flow.ProxyPort}")
            : "-> proxy",
        TraceObservationPoint.ToHost => "-> host from",
        TraceObservationPoint.ToStack => "-> stack",
        TraceObservationPoint.ToOverlay => "-> overlay",
        TraceObservationPoint.ToNetwork => "-> network",
        TraceObservationPoint.ToCrypto => "-> crypto",
        TraceObservationPoint.FromEndpoint => string.Create(CultureInfo.InvariantCulture, $"<- endpoint {flow.Source.Id}"),
        TraceObservationPoint.FromProxy => "<- proxy",
        TraceObservationPoint.FromHost => "<- host",
        TraceObservationPoint.FromStack => "<- stack",
        TraceObservationPoint.FromOverlay => "<- overlay",
        TraceObservationPoint.FromNetwork => "<- network",
        TraceObservationPoint.FromCrypto => "<- crypto",
        _ => "unknown trace",
    };

    private static string Labels(in FlowEndpoint endpoint) =>
        endpoint.Labels is null ? "[]" : $"[{string.Join(' ', endpoint.Labels)}]";

    private static string Hex(uint value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Action(Verdict verdict) => verdict switch
    {
        Verdict.Forwarded => "allow",
        Verdict.Dropped or Verdict.Error => "deny",
        Verdict.Audit => "audit",
        Verdict.Redirected => "redirect",
        _ => "unknown",
    };

    private static string Auth(AuthType auth) => auth switch
    {
        AuthType.Disabled => "disabled",
        AuthType.Spire => "spire",
        AuthType.TestAlwaysFail => "test-always-fail",
        _ => "unknown",
    };

    private static string L7Verdict(Verdict verdict) => verdict switch
    {
        Verdict.Forwarded => "Forwarded",
        Verdict.Dropped => "Denied",
        Verdict.Error => "Error",
        _ => HubbleNames.Of(verdict) ?? "Unknown",
    };

    private static string UrlPathAndQuery(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return "";
        }

        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return url;
        }

        var slash = url.IndexOf('/', scheme + 3);
        return slash < 0 ? "/" : url[slash..];
    }
}
