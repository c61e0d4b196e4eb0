namespace Membrane.Datapath;

/// <summary>
/// Listener port of the L7 proxy per protocol, in the node network namespace (contracts.md: HTTP/gRPC 15080,
/// Kafka 15090). Redirect entries store the port of their entry's L7 protocol.
/// </summary>
/// <param name="Http">HTTP/1.1, HTTP/2 and gRPC.</param>
/// <param name="Kafka">Kafka.</param>
public sealed record ProxyPorts(ushort Http = ProxyPorts.DefaultHttp, ushort Kafka = ProxyPorts.DefaultKafka)
{
    /// <summary>The agent's default HTTP proxy port.</summary>
    public const ushort DefaultHttp = 15080;

    /// <summary>The agent's default Kafka proxy port.</summary>
    public const ushort DefaultKafka = 15090;
}
