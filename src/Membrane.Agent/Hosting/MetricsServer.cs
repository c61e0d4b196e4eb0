using System.Net;
using Membrane.Datapath.Netns;
using Membrane.Observer.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Membrane.Agent.Hosting;

/// <summary>
/// Serves <c>GET /metrics</c> (Prometheus text) on a TCP address in another network namespace than the agent's own:
/// the agent runs in the node namespace, but <c>curl 127.0.0.1:9962/metrics</c> must work from the host, so the
/// listening socket is created and bound on a thread that entered the host's namespace (<c>/proc/1/ns/net</c>). A
/// socket keeps the namespace it was created in, whichever thread uses it later.
/// </summary>
internal sealed class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NetnsThread _namespace;

    private MetricsServer(WebApplication app, NetnsThread ns, IPEndPoint bound)
    {
        _app = app;
        _namespace = ns;
        Address = bound;
    }

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint Address { get; }

    public static async Task<MetricsServer> StartAsync(IPEndPoint address, string namespacePath, Action<TextWriter> writeMetrics, CancellationToken cancellationToken)
    {
        var ns = new NetnsThread(namespacePath);
        try
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "membrane-metrics" });
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Limits.MaxRequestBodySize = 0;
                k.Listen(address);
            });
            builder.WebHost.UseSockets(o => o.CreateBoundListenSocket = endpoint => ns.Run(() => SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint)));
            builder.Services.AddRoutingCore();
            var app = builder.Build();
            app.MapMethods("/metrics", ["GET"], async ctx =>
            {
                var text = new StringWriter();
                writeMetrics(text);
                ctx.Response.ContentType = PrometheusText.ContentType;
                await ctx.Response.WriteAsync(text.ToString(), ctx.RequestAborted).ConfigureAwait(false);
            });
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Urls.Select(u => new Uri(u)).Select(u => new IPEndPoint(address.Address, u.Port)).FirstOrDefault() ?? address;
            return new MetricsServer(app, ns, bound);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _namespace.Dispose();
    }
}
