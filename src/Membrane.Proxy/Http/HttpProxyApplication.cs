using Membrane.Proxy.Listener;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace Membrane.Proxy.Http;

/// <summary>One request as Kestrel hands it over: its features and the connection state (no allocation).</summary>
internal readonly record struct ProxyRequestContext(IFeatureCollection Features, ClientConnection Connection);

/// <summary>
/// Kestrel's application for every listener, without the ASP.NET Core middleware pipeline: HTTP/1.1 requests go to
/// the connection's <see cref="Http1Exchange"/>. (HTTP/2 connections never reach Kestrel's HTTP layer: the listener
/// hands them to <see cref="Http2.Http2ClientSession"/>.)
/// </summary>
internal sealed class HttpProxyApplication : IHttpApplication<ProxyRequestContext>
{
    public ProxyRequestContext CreateContext(IFeatureCollection contextFeatures) =>
        new(contextFeatures, contextFeatures.Get<ClientConnection>() ?? throw new InvalidOperationException("connection was not dispatched"));

    public Task ProcessRequestAsync(ProxyRequestContext context) =>
        context.Connection.Http1.ProcessAsync(context.Features, context.Features.Get<IHttpRequestFeature>()!);

    public void DisposeContext(ProxyRequestContext context, Exception? exception)
    {
    }
}
