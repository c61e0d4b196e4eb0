using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Membrane.Agent.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Membrane.Agent.Api;

/// <summary>
/// The agent API: HTTP/1.1 + JSON on a unix socket that only root can reach (the directory is 0700 and the socket
/// 0600). Streams (<c>/v1/flows</c>, <c>/v1/monitor</c>) are newline-delimited JSON or text, flushed per batch.
/// </summary>
internal sealed class ApiServer : IAsyncDisposable
{
    private const long MaxRequestBodyBytes = 64L * 1024 * 1024;

    private readonly WebApplication _app;

    private ApiServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static async Task<ApiServer> StartAsync(string socketPath, IAgentApi api, AgentLog log, CancellationToken cancellationToken)
    {
        PrepareSocketPath(socketPath);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "membrane-agent" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            k.ListenUnixSocket(socketPath);
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        Map(app, api, log);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new ApiServer(app, socketPath);
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
            // Open streams (observe --follow) are cut.
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        try
        {
            File.Delete(SocketPath);
            Directory.Delete(Path.GetDirectoryName(SocketPath)!);
        }
        catch (IOException)
        {
            // Another file in the directory, or it is gone already.
        }
    }

    /// <summary>
    /// Creates the instance's runtime directory (0700) and removes a stale socket; refuses to start when another agent
    /// of the same instance answers on it.
    /// </summary>
    private static void PrepareSocketPath(string socketPath)
    {
        var directory = Path.GetDirectoryName(socketPath)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!File.Exists(socketPath))
        {
            return;
        }

        if (AgentClient.IsListening(socketPath))
        {
            throw new AgentStartException($"another agent of this instance is running (it answers on {socketPath})");
        }

        File.Delete(socketPath);
    }

    private static void Map(WebApplication app, IAgentApi api, AgentLog log)
    {
        Get(app, log, "/v1/status", _ => Json(api.GetStatus(), ApiJson.Default.StatusModel));
        Get(app, log, "/v1/endpoints", _ => Json(api.ListEndpoints().ToList(), ApiJson.Default.ListEndpointModel));
        Post(app, log, "/v1/endpoints", async ctx =>
        {
            var request = await ReadAsync(ctx, ApiJson.Default.EndpointCreateRequest).ConfigureAwait(false);
            var created = api.CreateEndpoint(request);
            return Json(created, ApiJson.Default.EndpointModel, created.Adopted ? 200 : 201);
        });
        Get(app, log, "/v1/endpoints/{id}", ctx => Json(api.GetEndpoint(Route(ctx, "id")), ApiJson.Default.EndpointModel));
        app.MapMethods("/v1/endpoints/{id}", ["DELETE"], Handle(log, ctx => Task.FromResult(Json(api.DeleteEndpoint(Route(ctx, "id")), ApiJson.Default.EndpointModel))));
        Get(app, log, "/v1/identities", _ => Json(api.ListIdentities().ToList(), ApiJson.Default.ListIdentityModel));
        Get(app, log, "/v1/identities/{id}", ctx =>
        {
            var text = Route(ctx, "id");
            return uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                ? Json(api.GetIdentity(id), ApiJson.Default.IdentityModel)
                : throw ApiProblem.BadRequest($"identity \"{text}\": expected a number");
        });
        Get(app, log, "/v1/policies", ctx => Json(api.ListPolicies(ctx.Request.Query["text"] == "true"), ApiJson.Default.PolicyListResponse));
        Get(app, log, "/v1/policies/sources", _ => Json(api.ListPolicySources(), ApiJson.Default.PolicySourcesResponse));
        Post(app, log, "/v1/policies", async ctx =>
            Json(api.ImportPolicies(await ReadAsync(ctx, ApiJson.Default.PolicyImportRequest).ConfigureAwait(false)), ApiJson.Default.PolicyChangeResponse));
        Post(app, log, "/v1/policies/delete", async ctx =>
            Json(api.DeletePolicies(await ReadAsync(ctx, ApiJson.Default.PolicyDeleteRequest).ConfigureAwait(false)), ApiJson.Default.PolicyChangeResponse));
        Get(app, log, "/v1/bpf/policy/{id}", ctx => Json(api.GetBpfPolicy(Route(ctx, "id")), ApiJson.Default.BpfPolicyResponse));
        Get(app, log, "/v1/bpf/ct", _ => Json(api.ListConntrack().ToList(), ApiJson.Default.ListConntrackEntryModel));
        Get(app, log, "/v1/bpf/ipcache", _ => Json(api.ListIpcache().ToList(), ApiJson.Default.ListIpcacheEntryModel));
        app.MapMethods("/metrics", ["GET"], Handle(log, _ =>
        {
            var text = new StringWriter();
            api.WriteMetrics(text);
            return Task.FromResult<IResult>(Results.Text(text.ToString(), Observer.Metrics.PrometheusText.ContentType));
        }));
        app.MapMethods("/v1/flows", ["POST"], Handle(log, async ctx =>
        {
            var prepared = api.PrepareObserve(await ReadAsync(ctx, ApiJson.Default.ObserveRequest).ConfigureAwait(false));
            return new StreamResult("application/x-ndjson", (write, ct) => api.ObserveAsync(prepared, write, ct));
        }));
        app.MapMethods("/v1/monitor", ["POST"], Handle(log, async ctx =>
        {
            var prepared = api.PrepareMonitor(await ReadAsync(ctx, ApiJson.Default.MonitorRequest).ConfigureAwait(false));
            return new StreamResult("text/plain; charset=utf-8", (write, ct) => api.MonitorAsync(prepared, write, ct));
        }));
    }

    private static void Get(WebApplication app, AgentLog log, string pattern, Func<HttpContext, IResult> handler) =>
        app.MapMethods(pattern, ["GET"], Handle(log, ctx => Task.FromResult(handler(ctx))));

    private static void Post(WebApplication app, AgentLog log, string pattern, Func<HttpContext, Task<IResult>> handler) =>
        app.MapMethods(pattern, ["POST"], Handle(log, handler));

    private static RequestDelegate Handle(AgentLog log, Func<HttpContext, Task<IResult>> handler) => async ctx =>
    {
        IResult result;
        try
        {
            result = await handler(ctx).ConfigureAwait(false);
        }
        catch (ApiProblem problem)
        {
            result = Json(new ApiError(problem.Message, problem.Errors), ApiJson.Default.ApiError, problem.Status);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.Error($"API {ctx.Request.Method} {ctx.Request.Path}: {e}");
            result = Json(new ApiError($"internal error: {e.Message}", []), ApiJson.Default.ApiError, 500);
        }

        await result.ExecuteAsync(ctx).ConfigureAwait(false);
    };

    private static IResult Json<T>(T value, JsonTypeInfo<T> type, int status = 200) =>
        Results.Json(value, type, contentType: "application/json", statusCode: status);

    // Kestrel leaves %2F encoded in route values (it would change the path's segments); pod names carry one ("ns/pod").
    private static string Route(HttpContext ctx, string name) => Uri.UnescapeDataString(ctx.Request.RouteValues[name]?.ToString() ?? "");

    private static async Task<T> ReadAsync<T>(HttpContext ctx, JsonTypeInfo<T> type)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(ctx.Request.Body, type, ctx.RequestAborted).ConfigureAwait(false)
                ?? throw ApiProblem.BadRequest("empty request body");
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest($"invalid request body: {e.Message}");
        }
    }

    /// <summary>A streamed answer: lines written as they come, flushed when the producer asks.</summary>
    private sealed class StreamResult(string contentType, Func<Func<string, bool, ValueTask>, CancellationToken, Task> produce) : IResult
    {
        public async Task ExecuteAsync(HttpContext ctx)
        {
            ctx.Response.ContentType = contentType;
            ctx.Response.Headers.CacheControl = "no-cache";
            await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
            var body = ctx.Response.BodyWriter;
            try
            {
                await produce(async (line, flush) =>
                {
                    var bytes = Encoding.UTF8.GetByteCount(line) + 1;
                    var span = body.GetSpan(bytes);
                    var written = Encoding.UTF8.GetBytes(line, span);
                    span[written] = (byte)'\n';
                    body.Advance(written + 1);
                    if (flush)
                    {
                        await body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                    }
                }, ctx.RequestAborted).ConfigureAwait(false);
                await body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // The client went away (monitor or observe --follow ended).
            }
            catch (IOException)
            {
            }
            catch (SocketException)
            {
            }
        }
    }
}
