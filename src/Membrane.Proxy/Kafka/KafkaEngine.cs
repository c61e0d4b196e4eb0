namespace Membrane.Proxy.Kafka;

/// <summary>Limits of the Kafka engine.</summary>
public sealed class KafkaEngineOptions
{
    /// <summary>Largest request frame accepted (brokers' <c>socket.request.max.bytes</c> default, 100 MiB).</summary>
    public int MaxRequestFrameSize { get; init; } = KafkaRequestParser.DefaultMaxFrameSize;

    /// <summary>Largest response frame the engine buffers to rewrite (Metadata, ApiVersions, FindCoordinator);
    /// other responses are relayed as they arrive whatever their size.</summary>
    public int MaxRewrittenResponseSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>Requests awaiting an answer on one connection before the connection is closed as abusive (brokers read
    /// one request at a time per connection; clients keep a handful in flight).</summary>
    public int MaxInFlightRequests { get; init; } = 65_536;
}

/// <summary>
/// Kafka L7 enforcement for one connection at a time: parses every request (<c>KafkaRequestParser</c>), evaluates
/// the topics it names against the egress and ingress <see cref="Membrane.Policy.L7.Kafka.KafkaRuleSet"/>s, forwards
/// allowed requests, answers denied ones with the broker's own error shape in request order, filters Metadata, caps
/// ApiVersions, and in explicit mode rewrites broker addresses to <see cref="ProxiedConnection.AdvertisedAddress"/>.
/// Behaviour is documented in <c>docs/kafka.md</c>.
/// </summary>
public sealed class KafkaEngine : IProtocolEngine
{
    private readonly KafkaEngineOptions _options;

    /// <summary>Creates the engine (stateless; one instance serves every connection).</summary>
    public KafkaEngine(KafkaEngineOptions? options = null) => _options = options ?? new KafkaEngineOptions();

    /// <inheritdoc/>
    public Task RunAsync(ProxiedConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new KafkaConnection(connection, _options).RunAsync(cancellationToken);
    }
}
