using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Membrane.Observer.Flows;

namespace Membrane.Observer.Filters;

/// <summary>A pod selector of <c>--from-pod</c>/<c>--to-pod</c>: the namespace and a pod name prefix (empty: any pod).</summary>
/// <param name="Namespace">Namespace the pod must be in.</param>
/// <param name="NamePrefix">Prefix of the pod name; empty matches every pod in the namespace.</param>
public sealed record PodSelector(string Namespace, string NamePrefix)
{
    /// <summary>Parses <c>[namespace/]prefix</c>; without a namespace, <c>default</c> (Hubble's rule).</summary>
    /// <returns>False for an empty selector.</returns>
    public static bool TryParse(string text, out PodSelector selector)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        selector = slash >= 0
            ? new PodSelector(text[..slash], text[(slash + 1)..])
            : new PodSelector("default", text);
        return slash >= 0 ? text.Length > 1 : text.Length > 0;
    }

    /// <summary>True when the endpoint is a pod in the namespace whose name starts with the prefix.</summary>
    public bool Matches(in FlowEndpoint endpoint)
    {
        var ns = endpoint.Namespace ?? "";
        var pod = endpoint.PodName ?? "";
        if (ns.Length == 0 && pod.Length == 0)
        {
            return false;
        }

        return ns == Namespace && pod.StartsWith(NamePrefix, StringComparison.Ordinal);
    }

    /// <summary><c>namespace/prefix</c>.</summary>
    public override string ToString() => $"{Namespace}/{NamePrefix}";
}

/// <summary>An event type filter (Hubble's <c>flow.EventTypeFilter</c>).</summary>
/// <param name="Type">Monitor message type (<see cref="MonitorMessageType"/>).</param>
/// <param name="SubType">Sub-type to match when <paramref name="MatchSubType"/> is set.</param>
/// <param name="MatchSubType">Whether the sub-type must match too.</param>
public sealed record EventTypeFilter(int Type, int SubType = 0, bool MatchSubType = false)
{
    /// <summary>True when the flow's event type matches.</summary>
    public bool Matches(in Flow flow) =>
        flow.EventType.Type == Type && (!MatchSubType || flow.EventType.SubType == SubType);
}

/// <summary>An HTTP status filter: a full code (<c>404</c>) or a prefix (<c>5+</c>, <c>40+</c>), as Hubble's <c>http_status_code</c>.</summary>
public sealed record HttpStatusFilter
{
    private HttpStatusFilter(string text, string digits, bool prefix)
    {
        Text = text;
        Digits = digits;
        IsPrefix = prefix;
    }

    /// <summary>The filter as written.</summary>
    public string Text { get; }

    /// <summary>The digits to compare.</summary>
    public string Digits { get; }

    /// <summary>True for a prefix filter.</summary>
    public bool IsPrefix { get; }

    /// <summary>Parses <c>[1-5]dd</c> or <c>[1-5][d]+</c>.</summary>
    public static bool TryParse(string text, out HttpStatusFilter? filter)
    {
        filter = null;
        if (text.Length == 3 && text[0] is >= '1' and <= '5' && char.IsAsciiDigit(text[1]) && char.IsAsciiDigit(text[2]))
        {
            filter = new HttpStatusFilter(text, text, prefix: false);
        }
        else if (text.Length is 2 or 3 && text[^1] == '+' && text[0] is >= '1' and <= '5' && (text.Length == 2 || char.IsAsciiDigit(text[1])))
        {
            filter = new HttpStatusFilter(text, text[..^1], prefix: true);
        }

        return filter is not null;
    }

    /// <summary>True when the three-digit status code matches.</summary>
    public bool Matches(uint code)
    {
        Span<char> digits = stackalloc char[3];
        if (code is < 100 or > 999)
        {
            return false;
        }

        digits[0] = (char)('0' + (code / 100));
        digits[1] = (char)('0' + (code / 10 % 10));
        digits[2] = (char)('0' + (code % 10));
        return IsPrefix ? digits.StartsWith(Digits) : digits.SequenceEqual(Digits);
    }
}

/// <summary>
/// One flow filter with Hubble's <c>flow.FlowFilter</c> semantics: every field that is set must match (AND), and a
/// field matches when any of its values does (OR). Build one with <see cref="FlowFilterSpec.Parse"/> or set the fields.
/// </summary>
public sealed class FlowFilter
{
    /// <summary>Hubble <c>source_pod</c>.</summary>
    public IReadOnlyList<PodSelector> SourcePod { get; init; } = [];

    /// <summary>Hubble <c>destination_pod</c>.</summary>
    public IReadOnlyList<PodSelector> DestinationPod { get; init; } = [];

    /// <summary>Hubble <c>source_label</c>.</summary>
    public IReadOnlyList<LabelSelector> SourceLabel { get; init; } = [];

    /// <summary>Hubble <c>destination_label</c>.</summary>
    public IReadOnlyList<LabelSelector> DestinationLabel { get; init; } = [];

    /// <summary>Membrane: values of the source's <c>app</c> label (any source).</summary>
    public IReadOnlyList<string> SourceApp { get; init; } = [];

    /// <summary>Membrane: values of the destination's <c>app</c> label (any source).</summary>
    public IReadOnlyList<string> DestinationApp { get; init; } = [];

    /// <summary>Hubble <c>verdict</c>.</summary>
    public IReadOnlyList<Verdict> Verdict { get; init; } = [];

    /// <summary>Hubble <c>event_type</c>.</summary>
    public IReadOnlyList<EventTypeFilter> EventType { get; init; } = [];

    /// <summary>Hubble <c>protocol</c>: <c>tcp</c>, <c>udp</c>, <c>icmp</c>, <c>icmpv4</c>, <c>icmpv6</c>, <c>sctp</c>, <c>http</c>, <c>kafka</c>.</summary>
    public IReadOnlyList<string> Protocol { get; init; } = [];

    /// <summary>Hubble <c>source_port</c>.</summary>
    public IReadOnlyList<ushort> SourcePort { get; init; } = [];

    /// <summary>Hubble <c>destination_port</c>.</summary>
    public IReadOnlyList<ushort> DestinationPort { get; init; } = [];

    /// <summary>Hubble <c>http_method</c> (case-insensitive).</summary>
    public IReadOnlyList<string> HttpMethod { get; init; } = [];

    /// <summary>Hubble <c>http_path</c>: unanchored regular expressions on the URL path (linear-time engine).</summary>
    public IReadOnlyList<Regex> HttpPath { get; init; } = [];

    /// <summary>Hubble <c>http_status_code</c>.</summary>
    public IReadOnlyList<HttpStatusFilter> HttpStatusCode { get; init; } = [];

    /// <summary>True when the flow passes every field that is set.</summary>
    public bool Matches(in Flow flow) =>
        (SourcePod.Count == 0 || AnyPod(SourcePod, flow.Source))
        && (DestinationPod.Count == 0 || AnyPod(DestinationPod, flow.Destination))
        && (SourceLabel.Count == 0 || AnyLabel(SourceLabel, flow.Source))
        && (DestinationLabel.Count == 0 || AnyLabel(DestinationLabel, flow.Destination))
        && (SourceApp.Count == 0 || AnyApp(SourceApp, flow.Source))
        && (DestinationApp.Count == 0 || AnyApp(DestinationApp, flow.Destination))
        && (Verdict.Count == 0 || Contains(Verdict, flow.Verdict))
        && (EventType.Count == 0 || AnyEventType(flow))
        && (Protocol.Count == 0 || AnyProtocol(flow))
        && (SourcePort.Count == 0 || (flow.L4.HasPorts && Contains(SourcePort, flow.L4.SourcePort)))
        && (DestinationPort.Count == 0 || (flow.L4.HasPorts && Contains(DestinationPort, flow.L4.DestinationPort)))
        && (HttpMethod.Count == 0 || AnyHttpMethod(flow))
        && (HttpPath.Count == 0 || AnyHttpPath(flow))
        && (HttpStatusCode.Count == 0 || AnyHttpStatus(flow));

    /// <summary>The filter as Hubble's FlowFilter JSON (what <c>hubble observe --print-raw-filters</c> shows).</summary>
    public override string ToString()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            WriteArray(json, "source_pod", SourcePod.Select(p => p.ToString()));
            WriteArray(json, "destination_pod", DestinationPod.Select(p => p.ToString()));
            WriteArray(json, "source_label", SourceLabel.Select(s => s.ToString()));
            WriteArray(json, "destination_label", DestinationLabel.Select(s => s.ToString()));
            WriteArray(json, "source_app", SourceApp);
            WriteArray(json, "destination_app", DestinationApp);
            WriteArray(json, "verdict", Verdict.Select(v => HubbleNames.Of(v) ?? ((int)v).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (EventType.Count > 0)
            {
                json.WriteStartArray("event_type");
                foreach (var e in EventType)
                {
                    json.WriteStartObject();
                    json.WriteNumber("type", e.Type);
                    if (e.MatchSubType)
                    {
                        json.WriteBoolean("match_sub_type", true);
                        json.WriteNumber("sub_type", e.SubType);
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            WriteArray(json, "protocol", Protocol);
            WriteArray(json, "source_port", SourcePort.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            WriteArray(json, "destination_port", DestinationPort.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            WriteArray(json, "http_method", HttpMethod);
            WriteArray(json, "http_path", HttpPath.Select(r => r.ToString()));
            WriteArray(json, "http_status_code", HttpStatusCode.Select(s => s.Text));
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteArray(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        var list = values.ToList();
        if (list.Count == 0)
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var v in list)
        {
            json.WriteStringValue(v);
        }

        json.WriteEndArray();
    }

    private static bool Contains<T>(IReadOnlyList<T> values, T value)
        where T : IEquatable<T>
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i].Equals(value))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(IReadOnlyList<Verdict> values, Verdict value)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i] == value)
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyPod(IReadOnlyList<PodSelector> pods, in FlowEndpoint endpoint)
    {
        for (var i = 0; i < pods.Count; i++)
        {
            if (pods[i].Matches(endpoint))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyLabel(IReadOnlyList<LabelSelector> selectors, in FlowEndpoint endpoint)
    {
        for (var i = 0; i < selectors.Count; i++)
        {
            if (selectors[i].Matches(endpoint.Labels))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyApp(IReadOnlyList<string> apps, in FlowEndpoint endpoint)
    {
        if (endpoint.Labels is null)
        {
            return false;
        }

        var labels = endpoint.Labels;
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i].Key == "app" && Contains(apps, labels[i].Value))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyEventType(in Flow flow)
    {
        for (var i = 0; i < EventType.Count; i++)
        {
            if (EventType[i].Matches(flow))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyProtocol(in Flow flow)
    {
        var l4 = flow.L4.Protocol;
        for (var i = 0; i < Protocol.Count; i++)
        {
            var match = Protocol[i] switch
            {
                "tcp" => l4 == L4Protocol.Tcp,
                "udp" => l4 == L4Protocol.Udp,
                "sctp" => l4 == L4Protocol.Sctp,
                "icmp" => l4 is L4Protocol.IcmpV4 or L4Protocol.IcmpV6,
                "icmpv4" => l4 == L4Protocol.IcmpV4,
                "icmpv6" => l4 == L4Protocol.IcmpV6,
                "http" => flow.L7?.Http is not null,
                "kafka" => flow.L7?.Kafka is not null,
                _ => false,
            };
            if (match)
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyHttpMethod(in Flow flow)
    {
        if (flow.L7?.Http is not HttpInfo http || http.Method is null)
        {
            return false;
        }

        for (var i = 0; i < HttpMethod.Count; i++)
        {
            if (string.Equals(HttpMethod[i], http.Method, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyHttpPath(in Flow flow)
    {
        if (flow.L7?.Http is not HttpInfo http || http.Url is null)
        {
            return false;
        }

        var path = HttpInfo.UrlPath(http.Url);
        for (var i = 0; i < HttpPath.Count; i++)
        {
            if (HttpPath[i].IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyHttpStatus(in Flow flow)
    {
        if (flow.L7?.Http is not HttpInfo http || http.Code == 0)
        {
            return false;
        }

        for (var i = 0; i < HttpStatusCode.Count; i++)
        {
            if (HttpStatusCode[i].Matches(http.Code))
            {
                return true;
            }
        }

        return false;
    }
}
