using System.IO.Pipelines;

namespace Membrane.Proxy;

/// <summary>
/// One accepted connection handed by a listener to a protocol engine (Kafka, or the HTTP engine when it does not run
/// inside Kestrel). The listener has resolved the policy, checked L3/L4, and will dispose the pipes after
/// <see cref="IProtocolEngine.RunAsync"/> returns.
/// </summary>
public sealed class ProxiedConnection
{
    /// <summary>Addresses and mode.</summary>
    public required ConnectionInfo Info { get; init; }

    /// <summary>Where to re-resolve policy when <see cref="IProxyPolicySource.Revision"/> moves.</summary>
    public required IProxyPolicySource PolicySource { get; init; }

    /// <summary>The policy in force; engines replace it after re-resolving.</summary>
    public required ConnectionPolicy Policy { get; set; }

    /// <summary>Where L7 events go.</summary>
    public required IL7EventSink Events { get; init; }

    /// <summary>The client side of the connection.</summary>
    public required IDuplexPipe Client { get; init; }

    /// <summary>Opens the upstream connection (source identity mark, transparent source, loop guard applied).</summary>
    public required Func<CancellationToken, ValueTask<IDuplexPipe>> ConnectUpstreamAsync { get; init; }

    /// <summary>
    /// The proxy's own listen address when it must advertise itself (explicit mode: Kafka rewrites broker addresses
    /// in Metadata/FindCoordinator responses to it); null in transparent mode, where nothing is rewritten.
    /// </summary>
    public System.Net.IPEndPoint? AdvertisedAddress { get; init; }

    /// <summary>Re-resolves <see cref="Policy"/> if the policy revision moved; returns the policy to apply.</summary>
    public ConnectionPolicy CurrentPolicy()
    {
        var p = Policy;
        if (p.Revision != PolicySource.Revision)
        {
            p = PolicySource.Resolve(Info);
            Policy = p;
        }

        return p;
    }
}

/// <summary>A protocol engine: runs one connection until either side closes or the connection must be dropped.</summary>
public interface IProtocolEngine
{
    /// <summary>Relays and enforces until the connection ends. Failures of the connection are handled (and recorded
    /// as events) inside; the task completes normally.</summary>
    Task RunAsync(ProxiedConnection connection, CancellationToken cancellationToken);
}
