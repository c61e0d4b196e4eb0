using System.Net;
using Membrane.Proxy.Listener;

namespace Membrane.Proxy.Http2;

/// <summary>Where the HTTP/2 streams of one client connection go, and as whom (the connection pool key).</summary>
/// <param name="BaseUri">Scheme, synthetic host and port: the pool key of <see cref="Http2Upstream"/>.</param>
/// <param name="Info">The client connection.</param>
/// <param name="SourceIdentity">The identity its upstream connections are marked with.</param>
internal sealed record Http2Route(string BaseUri, ConnectionInfo Info, uint SourceIdentity);

/// <summary>
/// The listener's HTTP/2 client: one <see cref="SocketsHttpHandler"/> whose connections are multiplexed across the
/// client connections that share an upstream identity. Its pool is keyed by a synthetic host name that encodes the
/// source identity, the client address (transparent mode binds to it) and the destination, so streams of different
/// sources never share an upstream connection; <c>ConnectCallback</c> opens sockets through
/// <see cref="UpstreamConnector"/> (mark, transparent bind, loop guard).
/// </summary>
internal sealed class Http2Upstream : IDisposable
{
    private static readonly HttpRequestOptionsKey<Http2Route> RouteKey = new("membrane.route");
    private readonly ListenerRuntime _listener;
    private readonly Lazy<HttpMessageInvoker> _invoker;

    public Http2Upstream(ListenerRuntime listener)
    {
        _listener = listener;
        _invoker = new Lazy<HttpMessageInvoker>(Create);
    }

    public HttpMessageInvoker Invoker => _invoker.Value;

    /// <summary>The route for a connection whose source identity is <paramref name="identity"/>.</summary>
    public static Http2Route RouteFor(ConnectionInfo info, uint identity)
    {
        var destination = info.OriginalDestination;
        var source = info.Mode == ProxyMode.Transparent ? Convert.ToHexString(info.Client.Address.GetAddressBytes()) : "x";
        var host = $"i{identity}-{source}-{Convert.ToHexString(destination.Address.GetAddressBytes())}.upstream.invalid";
        return new Http2Route($"http://{host}:{destination.Port}", info, identity);
    }

    public static void Attach(HttpRequestMessage message, Http2Route route) => message.Options.Set(RouteKey, route);

    public void Dispose()
    {
        if (_invoker.IsValueCreated)
        {
            _invoker.Value.Dispose();
        }
    }

    private HttpMessageInvoker Create()
    {
        var options = _listener.Server.Options;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = null,
            ConnectTimeout = options.UpstreamConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            ConnectCallback = async (context, cancellationToken) =>
            {
                if (context.InitialRequestMessage.Options.TryGetValue(RouteKey, out var route))
                {
                    var socket = await UpstreamConnector.ConnectAsync(_listener, route.Info, route.SourceIdentity, cancellationToken).ConfigureAwait(false);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }

                throw new InvalidOperationException("HTTP/2 upstream request without a route");
            },
        };
        return new HttpMessageInvoker(handler);
    }
}
