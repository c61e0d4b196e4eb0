using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Membrane.Workloads.Grpc;

/// <summary>The lab's gRPC workload: <c>com.example.catalog.ProductService</c> on h2c (prior knowledge).</summary>
public sealed class GrpcWorkloadServer : IAsyncDisposable
{
    /// <summary>Largest message either side accepts (large-message tests send 8 MB).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    private readonly WebApplication _app;

    private GrpcWorkloadServer(WebApplication app, IPEndPoint endPoint)
    {
        _app = app;
        EndPoint = endPoint;
    }

    /// <summary>The bound address (port 0 resolved).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Starts the service on <paramref name="listen"/>.</summary>
    public static async Task<GrpcWorkloadServer> StartAsync(IPEndPoint listen, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null;
            k.Listen(listen, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = MaxMessageBytes;
            o.MaxSendMessageSize = MaxMessageBytes;
        });
        builder.Services.AddSingleton<CatalogService>();
        var app = builder.Build();
        app.MapGrpcService<CatalogService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var port = new Uri(app.Urls.First()).Port;
        return new GrpcWorkloadServer(app, new IPEndPoint(listen.Address, port));
    }

    /// <summary>Stops the service.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
