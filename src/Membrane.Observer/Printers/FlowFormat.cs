using System.Globalization;
using System.Net;
using System.Text;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Printers;

/// <summary>The pieces Hubble's printer derives from a flow (hosts, identities, type, verdict, timestamps, policy names).</summary>
internal static class FlowFormat
{
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>A time in one of Go's layouts (see <see cref="PrinterOptions.TimeFormat"/>); <c>N/A</c> for 0.</summary>
    public static string Timestamp(long unixNanos, PrinterOptions options)
    {
        if (unixNanos == 0)
        {
            return "N/A";
        }

        var utc = DateTimeOffset.UnixEpoch.AddTicks(unixNanos / 100);
        var local = TimeZoneInfo.ConvertTime(utc, options.TimeZone);
        var nanos = (int)(((unixNanos % 1_000_000_000) + 1_000_000_000) % 1_000_000_000);
        var stamp = string.Create(CultureInfo.InvariantCulture,
            $"{Months[local.Month - 1]} {local.Day,2} {local.Hour:00}:{local.Minute:00}:{local.Second:00}");
        var date = string.Create(CultureInfo.InvariantCulture,
            $"{local.Year:0000}-{local.Month:00}-{local.Day:00}T{local.Hour:00}:{local.Minute:00}:{local.Second:00}");
        var zone = local.Offset == TimeSpan.Zero
            ? "Z"
            : string.Create(CultureInfo.InvariantCulture, $"{(local.Offset < TimeSpan.Zero ? '-' : '+')}{Math.Abs(local.Offset.Hours):00}:{Math.Abs(local.Offset.Minutes):00}");
        return options.TimeFormat switch
        {
            "Stamp" => stamp,
            "StampMicro" => string.Create(CultureInfo.InvariantCulture, $"{stamp}.{nanos / 1000:000000}"),
            "StampNano" => string.Create(CultureInfo.InvariantCulture, $"{stamp}.{nanos:000000000}"),
            "RFC3339" => date + zone,
            "RFC3339Milli" => string.Create(CultureInfo.InvariantCulture, $"{date}.{nanos / 1_000_000:000}{zone}"),
            "RFC3339Micro" => string.Create(CultureInfo.InvariantCulture, $"{date}.{nanos / 1000:000000}{zone}"),
            "RFC3339Nano" => date + (nanos == 0 ? "" : "." + nanos.ToString("000000000", CultureInfo.InvariantCulture).TrimEnd('0')) + zone,
            _ => string.Create(CultureInfo.InvariantCulture, $"{stamp}.{nanos / 1_000_000:000}"),
        };
    }

    /// <summary>Hubble's <c>GetHostNames</c>: <c>ns/pod:port</c>, a service, DNS names, or <c>ip:port</c>.</summary>
    public static (string Source, string Destination) Hosts(in Flow flow, PrinterOptions options)
    {
        if (flow.IP.IsEmpty)
        {
            return ("", "");
        }

        var srcNs = flow.Source.Namespace ?? "";
        var dstNs = flow.Destination.Namespace ?? "";
        string? srcSvc = null;
        string? dstSvc = null;
        if (flow.SourceService is FlowService s)
        {
            srcNs = s.Namespace ?? "";
            srcSvc = s.Name;
        }

        if (flow.DestinationService is FlowService d)
        {
            dstNs = d.Namespace ?? "";
            dstSvc = d.Name;
        }

        var (srcPort, dstPort) = flow.L4.HasPorts ? (flow.L4.SourcePort, flow.L4.DestinationPort) : ((ushort)0, (ushort)0);
        return (
            Host(flow.IP.Source, srcPort, srcNs, flow.Source.PodName, srcSvc, flow.SourceNames, options),
            Host(flow.IP.Destination, dstPort, dstNs, flow.Destination.PodName, dstSvc, flow.DestinationNames, options));
    }

    /// <summary>Hubble's compact identity: <c>(ID:1234)</c>, or <c>(world)</c> for reserved identities.</summary>
    public static string IdentityTag(uint identity) =>
        FlowText.IsNamedIdentity(identity)
            ? $"({FlowText.Identity(identity)})"
            : string.Create(CultureInfo.InvariantCulture, $"(ID:{identity})");

    /// <summary>Hubble's <c>GetFlowType</c>: <c>http-request</c>, <c>to-endpoint</c>, <c>Policy denied</c>, <c>policy-verdict:L3-L4 INGRESS</c>.</summary>
    public static string FlowTypeText(in Flow flow)
    {
        if (flow.L7 is Layer7 l7)
        {
            var protocol = l7.Http is not null ? "http" : l7.Kafka is not null ? "kafka" : "l7";
            return $"{protocol}-{(HubbleNames.Of(l7.Type) ?? "UNKNOWN_L7_TYPE").ToLowerInvariant()}";
        }

        return flow.EventType.Type switch
        {
            MonitorMessageType.Trace => MonitorMessageType.TraceSubTypeName(flow.EventType.SubType)
                ?? flow.EventType.SubType.ToString(CultureInfo.InvariantCulture),
            MonitorMessageType.Drop => new DropReason((byte)flow.EventType.SubType).Text,
            MonitorMessageType.PolicyVerdict =>
                $"policy-verdict:{HubbleNames.Of(flow.PolicyMatchType)} {HubbleNames.Of(flow.TrafficDirection)}",
            _ => "UNKNOWN",
        };
    }

    /// <summary>The table's TYPE column as the seed shows it: <c>L7_REQUEST</c>/<c>L7_RESPONSE</c> for L7 flows, else <see cref="FlowTypeText"/>.</summary>
    public static string TableTypeText(in Flow flow) =>
        flow.L7 is Layer7 l7 ? $"L7_{HubbleNames.Of(l7.Type) ?? "UNKNOWN_L7_TYPE"}" : FlowTypeText(flow);

    /// <summary>Hubble's <c>getVerdict</c>: the verdict name, or ALLOWED/DENIED/AUDITED for policy-verdict events.</summary>
    public static string VerdictText(in Flow flow)
    {
        var isPolicyVerdict = flow.EventType.Type == MonitorMessageType.PolicyVerdict;
        return flow.Verdict switch
        {
            Verdict.Forwarded or Verdict.Redirected when isPolicyVerdict => "ALLOWED",
            Verdict.Dropped or Verdict.Error when isPolicyVerdict => "DENIED",
            Verdict.Audit when isPolicyVerdict => "AUDITED",
            _ => HubbleNames.Of(flow.Verdict) ?? ((int)flow.Verdict).ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Hubble's <c>getSummary</c>: the summary, plus <c>; Auth: SPIRE</c> when authentication applied.</summary>
    public static string SummaryText(in Flow flow)
    {
        var summary = FlowText.Summary(flow);
        return flow.AuthType == AuthType.Disabled ? summary : $"{summary}; Auth: {HubbleNames.Of(flow.AuthType)}";
    }

    /// <summary>The table's SUMMARY: <see cref="SummaryText"/>, plus <c> (Policy denied)</c> for dropped L7 flows, as the seed shows.</summary>
    public static string TableSummaryText(in Flow flow)
    {
        var summary = SummaryText(flow);
        return flow.L7 is not null && flow.Verdict == Verdict.Dropped && flow.DropReason.Code != 0
            ? $"{summary} ({flow.DropReason.Text})"
            : summary;
    }

    /// <summary>
    /// The policies that decided the flow: <c>EGRESS ALLOWED BY default/a (CiliumNetworkPolicy) INGRESS DENIED BY
    /// default/b (CiliumNetworkPolicy, default deny)</c>; empty when the flow names none.
    /// </summary>
    public static string PolicyNames(in Flow flow)
    {
        var sb = new StringBuilder();
        Append(sb, "EGRESS ALLOWED BY", flow.EgressAllowedBy);
        Append(sb, "INGRESS ALLOWED BY", flow.IngressAllowedBy);
        Append(sb, "EGRESS DENIED BY", flow.EgressDeniedBy);
        Append(sb, "INGRESS DENIED BY", flow.IngressDeniedBy);
        return sb.ToString();

        static void Append(StringBuilder sb, string heading, IReadOnlyList<FlowPolicy>? policies)
        {
            if (policies is null || policies.Count == 0)
            {
                return;
            }

            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(heading).Append(' ').AppendJoin(", ", policies);
        }
    }

    /// <summary>
    /// Replaces control characters (ESC, CR, NUL, C1, ...) with <c>\xNN</c> so that text from traffic (URLs, methods,
    /// names) cannot move the cursor or recolour a terminal, as Hubble's terminal escaper does.
    /// </summary>
    public static string Sanitize(string text)
    {
        var firstBad = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (IsControl(text[i]))
            {
                firstBad = i;
                break;
            }
        }

        if (firstBad < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 8);
        sb.Append(text, 0, firstBad);
        for (var i = firstBad; i < text.Length; i++)
        {
            var c = text[i];
            if (IsControl(c))
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();

        static bool IsControl(char c) => c < 0x20 || c is (>= '\u007f' and <= '\u009f') or '\u2028' or '\u2029';
    }

    /// <summary>An address with a port: <c>10.0.0.1:80</c>, <c>[fd00::1]:80</c>; the bare address without a port.</summary>
    public static string JoinHostPort(string host, ushort port) =>
        port == 0 ? host
        : host.Contains(':', StringComparison.Ordinal) ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
        : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    private static string Host(IPAddress? ip, ushort port, string ns, string? pod, string? svc, IReadOnlyList<string>? names, PrinterOptions options)
    {
        var host = ip?.ToString() ?? "";
        if (options.IPTranslation)
        {
            if (!string.IsNullOrEmpty(pod))
            {
                host = ns.Length == 0 ? pod : $"{ns}/{pod}";
            }
            else if (!string.IsNullOrEmpty(svc))
            {
                host = ns.Length == 0 ? svc : $"{ns}/{svc}";
            }
            else if (names is { Count: > 0 })
            {
                host = string.Join(',', names);
            }
        }

        return JoinHostPort(host, port);
    }
}
