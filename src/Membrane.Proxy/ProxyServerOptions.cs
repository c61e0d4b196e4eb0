using System.Net.Sockets;

namespace Membrane.Proxy;

/// <summary>Limits and timeouts of a <see cref="ProxyServer"/>; the defaults suit the agent and the benchmarks.</summary>
public sealed class ProxyServerOptions
{
    /// <summary>Time a client has to send a complete request head (slowloris defence; Kestrel's
    /// <c>RequestHeadersTimeout</c>). Also bounds the wait for the first bytes of a connection.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle time allowed between requests on a client keep-alive connection.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Minimum request body rate in bytes per second after a 5 s grace period (slow bodies are cut).</summary>
    public double MinRequestBodyBytesPerSecond { get; init; } = 240;

    /// <summary>Time allowed to open an upstream connection; past it the client gets 503.</summary>
    public TimeSpan UpstreamConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time the upstream may stay silent while a response head or body is awaited; past it the client
    /// gets 504 (or, once the response started, the connection is aborted).</summary>
    public TimeSpan UpstreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest upstream response head accepted (bytes); larger heads give 502.</summary>
    public int MaxUpstreamResponseHeadBytes { get; init; } = 32 * 1024;

    /// <summary>Body of the 403 answer to a denied HTTP request (Cilium's default, with the CRLF it appends).</summary>
    public string DeniedBody { get; init; } = "Access denied\r\n";

    /// <summary>Runs Kestrel's socket continuations inline (no thread-pool hop). Defaults to on when the process was
    /// started with <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, as the agent and <c>membrane proxy</c> are.</summary>
    public bool InlineScheduling { get; init; } =
        Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";

    /// <summary>Also set <c>SO_MARK</c> with the source identity on upstream connections of explicit listeners
    /// (needs CAP_NET_ADMIN). Transparent listeners always mark.</summary>
    public bool MarkExplicitUpstream { get; init; }

    /// <summary>
    /// Creates every socket the proxy opens (listeners and upstream connections); null = a plain TCP socket in the
    /// calling thread's network namespace. The agent sets it when it runs outside the node namespace it enforces: a
    /// socket keeps the namespace of the thread that created it, so it creates them on a thread in the node namespace.
    /// </summary>
    public Func<AddressFamily, Socket>? SocketFactory { get; init; }
}
