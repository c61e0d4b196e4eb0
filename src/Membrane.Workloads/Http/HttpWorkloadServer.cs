using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Membrane.Workloads.Http;

/// <summary>
/// The lab's HTTP workload: the seed's users API (<c>GET /api/v1/users</c>, <c>GET|DELETE /api/v1/users/{id}</c>,
/// <c>POST /api/v1/payments</c>) and, for every other method and path, 200 with a JSON echo of the method, path
/// and peer. Every answer also echoes what it received, so tests can check what the proxy forwarded.
/// </summary>
public sealed class HttpWorkloadServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpWorkloadServer(WebApplication app, IPEndPoint endPoint)
    {
        _app = app;
        EndPoint = endPoint;
    }

    /// <summary>The bound address (port 0 resolved).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Starts the server on <paramref name="listen"/> (HTTP/1.1 and, with prior knowledge, h2c on separate endpoints is not needed: HTTP/1.1 only).</summary>
    public static async Task<HttpWorkloadServer> StartAsync(IPEndPoint listen, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(listen, o => o.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Urls.First();
        var port = new Uri(address).Port;
        return new HttpWorkloadServer(app, new IPEndPoint(listen.Address, port));
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        if (context.WebSockets.IsWebSocketRequest)
        {
            await EchoWebSocketAsync(context).ConfigureAwait(false);
            return;
        }

        var method = request.Method;
        long bodyBytes = 0;
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            bodyBytes += n;
        }

        var status = 200;
        object? data = null;
        if (path == "/api/v1/users" && method == "GET")
        {
            data = new[] { new User("1", "alice"), new User("2", "bob"), new User("123", "carol") };
        }
        else if (path.StartsWith("/api/v1/users/", StringComparison.Ordinal) && method is "GET" or "DELETE")
        {
            var id = path["/api/v1/users/".Length..];
            data = method == "GET" ? new User(id, $"user-{id}") : new { deleted = id };
        }
        else if (path == "/api/v1/payments" && method == "POST")
        {
            data = new { payment = "accepted", bytes = bodyBytes };
        }

        if (request.Query.TryGetValue("status", out var s) && int.TryParse(s, out var forced))
        {
            status = forced;
        }

        var echo = new Echo(
            method,
            path,
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? path,
            request.QueryString.Value ?? "",
            $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}",
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            bodyBytes,
            data);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, echo, JsonOptions, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task EchoWebSocketAsync(HttpContext context)
    {
        // Any path: a WebSocket echo (proves Upgrade passes through the proxy).
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var buffer = new byte[4096];
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
            {
                await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private sealed record User(string Id, string Name);

    private sealed record Echo(string Method, string Path, string RawTarget, string Query, string Peer, Dictionary<string, string> Headers, long BodyBytes, object? Data);
}
