using Membrane.Proxy.Http;

namespace Membrane.Proxy.Listener;

/// <summary>
/// State of one accepted HTTP client connection, shared by its requests: the policy in force (re-resolved when the
/// revision moves) and the HTTP/1.1 upstream relay. Set as a connection feature by the dispatcher and found by the
/// HTTP application through Kestrel's feature fallback; the HTTP/2 engine uses it for the policy.
/// </summary>
internal sealed class ClientConnection : IDisposable
{
    private Http1Exchange? _http1;
    private ConnectionPolicy _policy;

    public ClientConnection(ListenerRuntime listener, ConnectionInfo info, ConnectionPolicy policy)
    {
        Listener = listener;
        Info = info;
        _policy = policy;
    }

    /// <summary>The listener that accepted the connection.</summary>
    public ListenerRuntime Listener { get; }

    /// <summary>Addresses and mode.</summary>
    public ConnectionInfo Info { get; }

    /// <summary>The HTTP/1.1 relay of this connection (one keep-alive upstream connection per client connection).</summary>
    public Http1Exchange Http1 => _http1 ??= new Http1Exchange(this);

    /// <summary>Returns the policy to apply to the next request, re-resolving it when the policy revision moved.</summary>
    public ConnectionPolicy CurrentPolicy()
    {
        var p = _policy;
        var source = Listener.Server.PolicySource;
        if (p.Revision != source.Revision)
        {
            p = source.Resolve(Info);
            _policy = p;
        }

        return p;
    }

    /// <inheritdoc />
    public void Dispose() => _http1?.Dispose();
}
