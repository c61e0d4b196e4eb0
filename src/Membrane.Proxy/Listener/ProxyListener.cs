using System.Net;

namespace Membrane.Proxy;

/// <summary>One running listener of a <see cref="ProxyServer"/> (returned when it is added; pass it back to remove it).</summary>
public sealed class ProxyListener
{
    internal ProxyListener(ProxyMode mode, IPEndPoint localEndPoint, IPEndPoint? upstream)
    {
        Mode = mode;
        LocalEndPoint = localEndPoint;
        Upstream = upstream;
    }

    /// <summary>Transparent (datapath redirect) or explicit (static upstream).</summary>
    public ProxyMode Mode { get; }

    /// <summary>The bound address; port 0 was resolved to the real port.</summary>
    public IPEndPoint LocalEndPoint { get; internal set; }

    /// <summary>The static upstream of an explicit listener; null for transparent ones.</summary>
    public IPEndPoint? Upstream { get; }

    /// <inheritdoc />
    public override string ToString() => Upstream is null ? $"{Mode} {LocalEndPoint}" : $"{Mode} {LocalEndPoint} -> {Upstream}";
}
