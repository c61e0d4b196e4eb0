using Membrane.Proxy.Http2;
using Membrane.Proxy.Listener;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace Membrane.Proxy.Http;

/// <summary>One request as Kestrel hands it over: its features and the connection state (no allocation).</summary>
internal readonly record struct ProxyRequestContext(IFeatureCollection Features, ClientConnection Connection);

/// <summary>
/// Kestrel's application for every listener, without the ASP.NET Core middleware pipeline: HTTP/1.1 requests go to
/// the connection's <see cref="Http1Exchange"/>, HTTP/2 streams to <see cref="Http2Forwarder"/>.
/// </summary>
internal sealed class HttpProxyApplication : IHttpApplication<ProxyRequestContext>
{
    public ProxyRequestContext CreateContext(IFeatureCollection contextFeatures) =>
        new(contextFeatures, contextFeatures.Get<ClientConnection>() ?? throw new InvalidOperationException("connection was not dispatched"));

    public Task ProcessRequestAsync(ProxyRequestContext context)
    {
        var request = context.Features.Get<IHttpRequestFeature>()!;
        return request.Protocol == "HTTP/2"
            ? Http2Forwarder.ProcessAsync(context.Features, request, context.Connection)
            : context.Connection.Http1.ProcessAsync(context.Features, request);
    }

    public void DisposeContext(ProxyRequestContext context, Exception? exception)
    {
    }
}
