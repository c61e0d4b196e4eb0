using Membrane.Policy.Model;

namespace Membrane.Proxy;

/// <summary>What an <see cref="L7Event"/> records.</summary>
public enum L7EventKind
{
    /// <summary>An HTTP (or gRPC) request was parsed and decided.</summary>
    HttpRequest,

    /// <summary>The response to an HTTP request (upstream's, or the proxy's own 403 / grpc-status 7).</summary>
    HttpResponse,

    /// <summary>A Kafka request was parsed and decided.</summary>
    KafkaRequest,

    /// <summary>The response to a Kafka request (broker's or the proxy's error-29 answer).</summary>
    KafkaResponse,

    /// <summary>A connection L3/L4 policy denies was accepted and closed at once.</summary>
    ConnectionDenied,

    /// <summary>Unparsable or malformed input (smuggling, bad frame, limit exceeded): the connection or request was rejected.</summary>
    ProtocolError,
}

/// <summary>The proxy's verdict on one request (Hubble: FORWARDED, DROPPED, ERROR).</summary>
public enum L7Verdict
{
    /// <summary>Allowed and forwarded upstream (or a response passed back).</summary>
    Forwarded,

    /// <summary>Denied by policy and answered by the proxy; upstream never saw it.</summary>
    Denied,

    /// <summary>Rejected as malformed.</summary>
    Error,
}

/// <summary>
/// One L7 observation emitted by the proxy, consumed by the Observer through <see cref="IL7EventSink"/>.
/// A value type passed by reference: emitting must not allocate beyond strings the proxy already holds.
/// </summary>
public readonly record struct L7Event
{
    /// <summary>What happened.</summary>
    public required L7EventKind Kind { get; init; }

    /// <summary>Wall-clock time, Unix epoch nanoseconds.</summary>
    public required long TimestampUnixNs { get; init; }

    /// <summary>The connection.</summary>
    public required ConnectionInfo Connection { get; init; }

    /// <summary>The connection's policy (identities, endpoints, rule sets), or null if it could not be resolved.</summary>
    public ConnectionPolicy? Policy { get; init; }

    /// <summary>Verdict.</summary>
    public required L7Verdict Verdict { get; init; }

    /// <summary>The policy whose rule allowed the request, or, when denied, the first policy whose L7 rules applied.</summary>
    public PolicyRef? DecidedBy { get; init; }

    /// <summary>Which side's rules denied it (egress of the source or ingress of the destination), when denied.</summary>
    public TrafficDirection? DeniedDirection { get; init; }

    /// <summary>Human-readable reason for errors and denials (e.g. "duplicate Content-Length").</summary>
    public string? Detail { get; init; }

    /// <summary>HTTP method.</summary>
    public string? HttpMethod { get; init; }

    /// <summary>URL as checked and forwarded: <c>http://host/path?query</c>.</summary>
    public string? HttpUrl { get; init; }

    /// <summary><c>HTTP/1.1</c> or <c>HTTP/2</c>.</summary>
    public string? HttpProtocol { get; init; }

    /// <summary>Response status code (responses only).</summary>
    public int HttpStatus { get; init; }

    /// <summary>Request-to-response latency (responses only).</summary>
    public long LatencyNs { get; init; }

    /// <summary>gRPC status for gRPC responses the proxy generated or saw in trailers (-1 if none).</summary>
    public int GrpcStatus { get; init; }

    /// <summary>Kafka API key.</summary>
    public short KafkaApiKey { get; init; }

    /// <summary>Kafka API version.</summary>
    public short KafkaApiVersion { get; init; }

    /// <summary>Kafka correlation id.</summary>
    public int KafkaCorrelationId { get; init; }

    /// <summary>Kafka client id.</summary>
    public string? KafkaClientId { get; init; }

    /// <summary>Topics named by the request.</summary>
    public IReadOnlyList<string>? KafkaTopics { get; init; }

    /// <summary>Topics of a forwarded Kafka request that policy denied: removed from what the broker received and
    /// answered with TOPIC_AUTHORIZATION_FAILED in the same response (null when none was).</summary>
    public IReadOnlyList<string>? KafkaDeniedTopics { get; init; }

    /// <summary>Kafka error code of the response (29 for TOPIC_AUTHORIZATION_FAILED), 0 otherwise.</summary>
    public short KafkaErrorCode { get; init; }
}

/// <summary>
/// Receives L7 events. Implementations must not block or throw (the proxy calls them on socket threads with inline
/// completions): copy into a ring buffer and return.
/// </summary>
public interface IL7EventSink
{
    /// <summary>Records one event.</summary>
    void Publish(in L7Event e);
}
