using System.Globalization;
using Membrane.Policy.L7.Kafka;

namespace Membrane.Observer.Flows;

/// <summary>
/// The protobuf enum value names Hubble prints (<c>FORWARDED</c>, <c>L3_L4</c>, <c>TO_ENDPOINT</c>, ...), Cilium's
/// policy match type strings and Kafka API key names. Null means "no name": protobuf JSON then prints the number.
/// </summary>
public static class HubbleNames
{
    private static readonly Dictionary<short, string> KafkaApiKeyByNumber =
        KafkaApiKeys.ByName.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary><c>VERDICT_UNKNOWN</c>, <c>FORWARDED</c>, ...</summary>
    public static string? Of(Verdict verdict) => verdict switch
    {
        Verdict.Unknown => "VERDICT_UNKNOWN",
        Verdict.Forwarded => "FORWARDED",
        Verdict.Dropped => "DROPPED",
        Verdict.Error => "ERROR",
        Verdict.Audit => "AUDIT",
        Verdict.Redirected => "REDIRECTED",
        Verdict.Traced => "TRACED",
        Verdict.Translated => "TRANSLATED",
        _ => null,
    };

    /// <summary><c>UNKNOWN_TYPE</c>, <c>L3_L4</c>, <c>L7</c>, <c>SOCK</c>.</summary>
    public static string? Of(FlowType type) => type switch
    {
        FlowType.Unknown => "UNKNOWN_TYPE",
        FlowType.L3L4 => "L3_L4",
        FlowType.L7 => "L7",
        FlowType.Sock => "SOCK",
        _ => null,
    };

    /// <summary><c>UNKNOWN_L7_TYPE</c>, <c>REQUEST</c>, <c>RESPONSE</c>, <c>SAMPLE</c>.</summary>
    public static string? Of(L7FlowType type) => type switch
    {
        L7FlowType.Unknown => "UNKNOWN_L7_TYPE",
        L7FlowType.Request => "REQUEST",
        L7FlowType.Response => "RESPONSE",
        L7FlowType.Sample => "SAMPLE",
        _ => null,
    };

    /// <summary><c>TRAFFIC_DIRECTION_UNKNOWN</c>, <c>INGRESS</c>, <c>EGRESS</c>.</summary>
    public static string? Of(FlowTrafficDirection direction) => direction switch
    {
        FlowTrafficDirection.Unknown => "TRAFFIC_DIRECTION_UNKNOWN",
        FlowTrafficDirection.Ingress => "INGRESS",
        FlowTrafficDirection.Egress => "EGRESS",
        _ => null,
    };

    /// <summary><c>IP_NOT_USED</c>, <c>IPv4</c>, <c>IPv6</c>.</summary>
    public static string? Of(IPVersion version) => version switch
    {
        IPVersion.NotUsed => "IP_NOT_USED",
        IPVersion.IPv4 => "IPv4",
        IPVersion.IPv6 => "IPv6",
        _ => null,
    };

    /// <summary><c>DISABLED</c>, <c>SPIRE</c>, <c>TEST_ALWAYS_FAIL</c>.</summary>
    public static string? Of(AuthType auth) => auth switch
    {
        AuthType.Disabled => "DISABLED",
        AuthType.Spire => "SPIRE",
        AuthType.TestAlwaysFail => "TEST_ALWAYS_FAIL",
        _ => null,
    };

    /// <summary><c>TO_ENDPOINT</c>, <c>FROM_ENDPOINT</c>, ...</summary>
    public static string? Of(TraceObservationPoint point) => point switch
    {
        TraceObservationPoint.Unknown => "UNKNOWN_POINT",
        TraceObservationPoint.ToProxy => "TO_PROXY",
        TraceObservationPoint.ToHost => "TO_HOST",
        TraceObservationPoint.ToStack => "TO_STACK",
        TraceObservationPoint.ToOverlay => "TO_OVERLAY",
        TraceObservationPoint.ToEndpoint => "TO_ENDPOINT",
        TraceObservationPoint.FromEndpoint => "FROM_ENDPOINT",
        TraceObservationPoint.FromProxy => "FROM_PROXY",
        TraceObservationPoint.FromHost => "FROM_HOST",
        TraceObservationPoint.FromStack => "FROM_STACK",
        TraceObservationPoint.FromOverlay => "FROM_OVERLAY",
        TraceObservationPoint.FromNetwork => "FROM_NETWORK",
        TraceObservationPoint.ToNetwork => "TO_NETWORK",
        TraceObservationPoint.FromCrypto => "FROM_CRYPTO",
        TraceObservationPoint.ToCrypto => "TO_CRYPTO",
        _ => null,
    };

    /// <summary><c>TRACE_REASON_UNKNOWN</c>, <c>NEW</c>, <c>ESTABLISHED</c>, ...</summary>
    public static string? Of(TraceReason reason) => reason switch
    {
        TraceReason.Unknown => "TRACE_REASON_UNKNOWN",
        TraceReason.New => "NEW",
        TraceReason.Established => "ESTABLISHED",
        TraceReason.Reply => "REPLY",
        TraceReason.Related => "RELATED",
        TraceReason.Reopened => "REOPENED",
        TraceReason.Srv6Encap => "SRV6_ENCAP",
        TraceReason.Srv6Decap => "SRV6_DECAP",
        TraceReason.EncryptOverlay => "ENCRYPT_OVERLAY",
        _ => null,
    };

    /// <summary><c>UNKNOWN_LOST_EVENT_SOURCE</c>, <c>PERF_EVENT_RING_BUFFER</c>, ...</summary>
    public static string? Of(LostEventSource source) => source switch
    {
        LostEventSource.Unknown => "UNKNOWN_LOST_EVENT_SOURCE",
        LostEventSource.PerfEventRingBuffer => "PERF_EVENT_RING_BUFFER",
        LostEventSource.ObserverEventsQueue => "OBSERVER_EVENTS_QUEUE",
        LostEventSource.HubbleRingBuffer => "HUBBLE_RING_BUFFER",
        _ => null,
    };

    /// <summary>Cilium's match type strings: <c>none</c>, <c>L3-Only</c>, <c>L3-L4</c>, <c>L4-Only</c>, <c>all</c>, ...</summary>
    public static string Of(PolicyMatchType match) => match switch
    {
        PolicyMatchType.None => "none",
        PolicyMatchType.L3Only => "L3-Only",
        PolicyMatchType.L3L4 => "L3-L4",
        PolicyMatchType.L4Only => "L4-Only",
        PolicyMatchType.All => "all",
        PolicyMatchType.L3Proto => "L3-Proto",
        PolicyMatchType.ProtoOnly => "Proto-Only",
        _ => "unknown",
    };

    /// <summary>Cilium's trace reason strings: <c>new</c>, <c>established</c>, <c>reply</c>, <c>related</c>, ...</summary>
    public static string MonitorStateOf(TraceReason reason) => reason switch
    {
        TraceReason.New => "new",
        TraceReason.Established => "established",
        TraceReason.Reply => "reply",
        TraceReason.Related => "related",
        TraceReason.Reopened => "reopened",
        TraceReason.Srv6Encap => "srv6-encap",
        TraceReason.Srv6Decap => "srv6-decap",
        TraceReason.EncryptOverlay => "encrypt-overlay",
        _ => "unknown",
    };

    /// <summary>The Kafka API key name Cilium uses (<c>produce</c>, <c>fetch</c>, ...), or the number for keys it has no name for.</summary>
    public static string KafkaApiKey(short apiKey) =>
        KafkaApiKeyByNumber.TryGetValue(apiKey, out var name) ? name : apiKey.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a verdict name (<c>DROPPED</c>; case-insensitive).</summary>
    public static bool TryParseVerdict(string text, out Verdict verdict)
    {
        foreach (var v in Enum.GetValues<Verdict>())
        {
            if (string.Equals(Of(v), text, StringComparison.OrdinalIgnoreCase))
            {
                verdict = v;
                return true;
            }
        }

        verdict = Verdict.Unknown;
        return false;
    }
}
